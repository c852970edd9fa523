#!/usr/bin/env bash
# Runs every benchmark under Deno and under Bun (node_*.bench.ts, of Node.js
# cluster workers, under Node.js only; the counters and middleware benches
# under Node.js too), then prints one table of every figure beside its
# baseline (measured in the same run) and ratio.
# BENCH_QUICK=1 runs fewer and shorter rounds (noisier, a few minutes).
set -uo pipefail
cd "$(dirname "$0")/.."
DENO=${DENO:-node_modules/.bin/deno}
BUN=${BUN:-node_modules/.bin/bun}
NODE=${NODE:-node_modules/.bin/node}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=()

# Runs one benchmark: its output goes to the terminal (without the BENCH
# lines, which are for the table) and to the log.
run() {
  "$@" 2>&1 | tee -a "$log" | grep --line-buffered -v '^BENCH '
  [ "${PIPESTATUS[0]}" -eq 0 ] || failed+=("$*")
}

# The benches that also run under Node.js (its servers on @hono/node-server).
on_node=(bench/counters.bench.ts bench/middleware.bench.ts)
node_bench() { run "$NODE" --disable-warning=ExperimentalWarning "$1"; }

for bench in bench/*.bench.ts; do
  case $bench in
    bench/node_*) node_bench "$bench" ;;
    *)
      run "$DENO" run -A "$bench" && run "$BUN" "$bench"
      [[ " ${on_node[*]} " == *" $bench "* ]] && node_bench "$bench"
      ;;
  esac
done

echo
echo "Every figure, beside its baseline from the same run (CPU time unless the unit says otherwise):"
"$DENO" run bench/results_table.ts <"$log"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
