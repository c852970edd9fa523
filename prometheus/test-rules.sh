#!/bin/sh
# Checks prometheus/raindrops.rules.yml and runs its unit tests with promtool
# (Debian package `prometheus`). Prints the steps' output, then one summary
# line "N passed, N failed"; exits non-zero when a step failed. Without
# promtool both steps are skipped with a message and the exit status is 0.
# With JUNIT_OUT set (scripts/test-all.sh), each step is also written there
# as a JUnit test case.
cd "$(dirname "$0")" || exit 2
PROMTOOL=${PROMTOOL:-promtool}
if ! command -v "$PROMTOOL" >/dev/null 2>&1; then
  echo "promtool not installed (Debian package prometheus): rules not checked"
  echo "0 passed, 0 failed, 2 skipped"
  [ -n "${JUNIT_OUT:-}" ] && printf '<testsuites><testsuite name="promtool"><testcase name="check rules"><skipped/></testcase><testcase name="test rules"><skipped/></testcase></testsuite></testsuites>\n' >"$JUNIT_OUT"
  exit 0
fi
passed=0
failed=0
cases=""
for step in "check rules raindrops.rules.yml" "test rules raindrops.rules.test.yml"; do
  # shellcheck disable=SC2086 # the step is words on purpose
  if "$PROMTOOL" $step; then
    passed=$((passed + 1)) cases="$cases<testcase name=\"promtool $step\"/>"
  else
    failed=$((failed + 1)) cases="$cases<testcase name=\"promtool $step\"><failure/></testcase>"
    echo "FAILED: promtool $step"
  fi
done
[ -n "${JUNIT_OUT:-}" ] && printf '<testsuites><testsuite name="promtool">%s</testsuite></testsuites>\n' "$cases" >"$JUNIT_OUT"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
