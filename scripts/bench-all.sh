#!/usr/bin/env bash
# Runs every benchmark under Deno and under Bun. Each benchmark prints its
# own baseline from the same run, so the ratios are comparable.
set -euo pipefail
cd "$(dirname "$0")/.."
for bench in bench/*.bench.ts; do
  $DENO run -A "$bench"
  $BUN "$bench"
done
# Throughput of a Hono app with and without the middleware (needs wrk).
DENO=$DENO BUN=$BUN bash bench/middleware.sh
