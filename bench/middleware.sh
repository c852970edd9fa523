#!/usr/bin/env bash
# Requests/s of a hello-world Hono app bare, with a no-op middleware (the
# floor of any Hono middleware: it takes Hono off its single-handler fast
# path), with the raindrops middleware, and with @hono/prometheus (if
# installed), on Deno and on Bun, driven by
# wrk over loopback. Variants are interleaved for ROUNDS rounds and the
# median of each is reported with its ratio to the bare app.
#   bench/middleware.sh            (ROUNDS=5 SECONDS_EACH=5 CONNS=32 RUNTIMES="bun deno")
# With 2+ CPUs the server is pinned to CPU 0 and wrk to CPU 1.
set -euo pipefail
cd "$(dirname "$0")/.."
DENO=${DENO:-node_modules/.bin/deno}
BUN=${BUN:-node_modules/.bin/bun}
ROUNDS=${ROUNDS:-5} SECONDS_EACH=${SECONDS_EACH:-5} CONNS=${CONNS:-32}
PORT=${PORT:-18300}
command -v wrk >/dev/null || { echo "wrk not found (Debian package wrk)"; exit 1; }
pin_srv=() pin_wrk=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin_srv=(taskset -c 0) pin_wrk=(taskset -c 1); fi
variants=(bare noop raindrops fetch)
if [ -d node_modules/@hono/prometheus ]; then variants+=(prometheus); else echo "(@hono/prometheus not installed: skipped)"; fi
stats=/dev/shm/raindrops-bench-$$
trap 'rm -f "$stats"' EXIT

run_one() { # runtime variant -> prints req/s
  local rt=$1 mode=$2 cmd pid out
  if [ "$rt" = deno ]; then cmd=("$DENO" run -A bench/middleware_app.ts); else cmd=("$BUN" bench/middleware_app.ts); fi
  out=$(mktemp)
  MODE=$mode PORT=$PORT RAINDROPS_STATS=$stats "${pin_srv[@]}" "${cmd[@]}" >"$out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q ready "$out" && break; sleep 0.1; done
  curl -s -o /dev/null "http://127.0.0.1:$PORT/" || true
  "${pin_wrk[@]}" wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$PORT/" >/dev/null # warm-up
  "${pin_wrk[@]}" wrk -t1 -c"$CONNS" -d"${SECONDS_EACH}s" "http://127.0.0.1:$PORT/" | awk '/Requests\/sec/ {print $2}'
  kill "$pid"; wait "$pid" 2>/dev/null || true; rm -f "$out"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

for rt in ${RUNTIMES:-bun deno}; do
  declare -A results=()
  for r in $(seq "$ROUNDS"); do
    for v in "${variants[@]}"; do results[$v]+="$(run_one "$rt" "$v") "; done
  done
  bare=$(tr ' ' '\n' <<<"${results[bare]}" | grep . | median)
  for v in "${variants[@]}"; do
    m=$(tr ' ' '\n' <<<"${results[$v]}" | grep . | median)
    printf '%-5s %-11s median %10.0f req/s  ratio %.3f  (runs: %s)\n' "$rt" "$v" "$m" "$(echo "$m / $bare" | bc -l)" "${results[$v]% }"
  done
  unset results
done
