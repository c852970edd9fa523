#!/usr/bin/env bash
# CPU time per request of a hello-world Hono app, on Deno and on Bun: bare,
# with a no-op middleware (the floor of any Hono middleware: it takes Hono
# off its single-handler fast path), with app.use(raindrops()), the same
# with bodyTracking "wrap" (what following every body costs), with
# withRaindrops(app.fetch) and with @hono/prometheus (when installed).
#
# Each measurement starts the server, warms it up with wrk, then loads it
# with wrk for SECONDS_EACH over CONNS keep-alive connections and reads the
# server's user+system CPU time from /proc/<pid>/stat before and after:
# CPU per request = delta / requests answered (wrk cannot stop at a request
# count without waiting out its duration, so the count is what the
# duration holds, printed). Requests/s of the same run is printed beside it. Variants are interleaved within each of ROUNDS
# rounds; medians are reported with min-max spread and ratios to the
# baseline measured in the same run (withRaindrops vs bare,
# app.use(raindrops()) vs the no-op middleware). With 2+ CPUs the server is
# pinned to CPU 0 and wrk to CPU 1.
#   bench/middleware.sh   (ROUNDS=5 SECONDS_EACH=5 CONNS=32 RUNTIMES="bun deno")
set -euo pipefail
cd "$(dirname "$0")/.."
DENO=${DENO:-node_modules/.bin/deno}
BUN=${BUN:-node_modules/.bin/bun}
ROUNDS=${ROUNDS:-5} SECONDS_EACH=${SECONDS_EACH:-5} CONNS=${CONNS:-32}
PORT=${PORT:-18300}
command -v wrk >/dev/null || { echo "wrk not found (Debian package wrk)"; exit 1; }
pin_srv=() pin_wrk=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin_srv=(taskset -c 0) pin_wrk=(taskset -c 1); fi
[ ${#pin_srv[@]} -gt 0 ] || echo "(one CPU or no taskset: server and wrk share CPUs)"
variants=(bare noop raindrops wrap fetch)
if [ -d node_modules/@hono/prometheus ]; then variants+=(prometheus); else echo "(@hono/prometheus not installed: skipped)"; fi
stats=/dev/shm/raindrops-bench-$$
trap 'rm -f "$stats"' EXIT
ticks=$(getconf CLK_TCK)

cpu_ticks() { # pid -> utime+stime of the whole process, in clock ticks (fields 14 and 15, after the ")" of comm)
  sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

run_one() { # runtime variant -> prints "cpu_us_per_request req_per_s requests"
  local rt=$1 mode=$2 cmd pid out before after report requests
  if [ "$rt" = deno ]; then cmd=("$DENO" run -A bench/middleware_app.ts); else cmd=("$BUN" bench/middleware_app.ts); fi
  out=$(mktemp)
  MODE=$mode PORT=$PORT RAINDROPS_STATS=$stats "${pin_srv[@]}" "${cmd[@]}" >"$out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q ready "$out" && break; sleep 0.1; done
  grep -q ready "$out" || { cat "$out" >&2; kill "$pid"; exit 1; }
  "${pin_wrk[@]}" wrk -t1 -c"$CONNS" -d2s "http://127.0.0.1:$PORT/" >/dev/null # warm-up (JIT)
  before=$(cpu_ticks "$pid")
  report=$("${pin_wrk[@]}" wrk -t1 -c"$CONNS" -d"${SECONDS_EACH}s" "http://127.0.0.1:$PORT/")
  after=$(cpu_ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true; rm -f "$out"
  requests=$(awk '/requests in/ {print $1}' <<<"$report")
  awk -v d=$((after - before)) -v t="$ticks" -v n="$requests" -v r="$(awk '/Requests\/sec/ {print $2}' <<<"$report")" \
    'BEGIN {printf "%.3f %.0f %d\n", d / t * 1e6 / n, r, n}'
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
column() { tr ' ' '\n' <<<"$1" | grep . | awk -F/ -v c="$2" '{print $c}'; }

echo "CPU time per request (server user+system, /proc/<pid>/stat): ${ROUNDS} rounds of ${SECONDS_EACH} s per variant, interleaved, ${CONNS} connections"
for rt in ${RUNTIMES:-bun deno}; do
  declare -A results=()
  for _ in $(seq "$ROUNDS"); do
    for v in "${variants[@]}"; do results[$v]+="$(run_one "$rt" "$v" | tr ' ' /) "; done
  done
  declare -A med=()
  for v in "${variants[@]}"; do med[$v]=$(column "${results[$v]}" 1 | median); done
  for v in "${variants[@]}"; do
    cpu=$(column "${results[$v]}" 1 | sort -g)
    rps=$(column "${results[$v]}" 2 | median)
    reqs=$(column "${results[$v]}" 3 | median)
    base=bare; case $v in raindrops | wrap) base=noop ;; esac
    printf '%-5s %-10s %7.2f us/req (min %.2f max %.2f)  vs %-4s %.3f  vs bare %.3f  %8.0f req/s  (%d requests/run)\n' \
      "$rt" "$v" "${med[$v]}" "$(head -1 <<<"$cpu")" "$(tail -1 <<<"$cpu")" "$base" \
      "$(echo "${med[$v]} / ${med[$base]}" | bc -l)" "$(echo "${med[$v]} / ${med[bare]}" | bc -l)" "$rps" "$reqs"
  done
  echo "$rt targets: fetch vs bare <= 1.02, raindrops vs noop <= 1.02"
  unset results med
done
