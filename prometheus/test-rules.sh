#!/bin/sh
# Checks prometheus/raindrops.rules.yml and runs its unit tests with promtool
# (Debian package `prometheus`). Prints the steps' output, then one summary
# line "N passed, N failed"; exits non-zero when a step failed. Without
# promtool both steps are skipped with a message and the exit status is 0.
cd "$(dirname "$0")" || exit 2
PROMTOOL=${PROMTOOL:-promtool}
if ! command -v "$PROMTOOL" >/dev/null 2>&1; then
  echo "promtool not installed (Debian package prometheus): rules not checked"
  echo "0 passed, 0 failed, 2 skipped"
  exit 0
fi
passed=0
failed=0
for step in "check rules raindrops.rules.yml" "test rules raindrops.rules.test.yml"; do
  # shellcheck disable=SC2086 # the step is words on purpose
  if "$PROMTOOL" $step; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: promtool $step"; fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
