#!/usr/bin/env bash
# Runs `zig build test`, the suite under Deno and under Bun, checks that no
# test left a shared file behind, and prints one line summing them all:
#   tests: N passed, N failed
set -uo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
passed=0 failed=0 skipped=0 status=0
# Test files are named raindrops-test-*; note any left by an earlier, killed run.
shared_files() { find /dev/shm /tmp -maxdepth 1 -name 'raindrops-test-*' 2>/dev/null | sort; }
shared_files >"$out/before"

# Lines of a runner's output without colour codes.
plain() { sed -e 's/\x1b\[[0-9;]*m//g' "$1"; }
note() { passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + ${3:-0})); }

echo "== zig build test"
(cd zig && $ZIG build test --summary all) >"$out/zig" 2>&1 || status=1
cat "$out/zig"
zp=$(grep -oE '[0-9]+ passed' "$out/zig" | tail -1 | grep -oE '[0-9]+' || echo 0)
zf=$(grep -oE '[0-9]+ failed' "$out/zig" | tail -1 | grep -oE '[0-9]+' || echo 0)
# "run test 7 passed" omits failures; "7/8 tests passed; 1 failed" has both.
zt=$(grep -oE '[0-9]+/[0-9]+ tests passed' "$out/zig" | tail -1 | grep -oE '^[0-9]+' || true)
[ -n "$zt" ] && zp=$zt
note "$zp" "$zf"

echo "== deno test"
$DENO test -A --no-check=remote test/ 2>&1 | tee "$out/deno"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
line=$(plain "$out/deno" | grep -E '^(ok|FAILED) \|' | tail -1)
note "$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)" \
  "$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || echo 0)" \
  "$(grep -oE '[0-9]+ ignored' <<<"$line" | grep -oE '[0-9]+' || echo 0)"
[ -n "$line" ] || { echo "deno test printed no summary"; failed=$((failed + 1)); status=1; }

echo "== bun test"
$BUN test --timeout 120000 2>&1 | tee "$out/bun"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
bp=$(plain "$out/bun" | grep -E '^ *[0-9]+ pass$' | grep -oE '[0-9]+' || echo 0)
bf=$(plain "$out/bun" | grep -E '^ *[0-9]+ fail$' | grep -oE '[0-9]+' || echo 0)
bs=$(plain "$out/bun" | grep -E '^ *[0-9]+ skip$' | grep -oE '[0-9]+' || echo 0)
note "$bp" "$bf" "$bs"
[ "$bp" -gt 0 ] || { echo "bun test ran no test"; failed=$((failed + 1)); status=1; }

echo "== leftover shared files"
left=$(shared_files | comm -13 "$out/before" -)
if [ -n "$left" ]; then echo "left behind:"; echo "$left"; note 0 1; status=1; else note 1 0; fi

[ "$failed" -eq 0 ] || status=1
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
