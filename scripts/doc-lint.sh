#!/usr/bin/env bash
# `deno doc --lint` over both entry points. The Hono middleware's signatures
# use Hono's own types (Context, MiddlewareHandler, Handler, Hono) from the
# peer dependency; the linter calls every type that our entry points do not
# export "private", and re-exporting Hono's would publish its whole type
# graph. Those references are expected; any other finding fails.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(NO_COLOR=1 "${DENO:-node_modules/.bin/deno}" doc --lint mod.ts hono.ts 2>&1)
hono="^error\[private-type-ref\]: public type '[^']+' references private type '(Context|MiddlewareHandler|Handler|Hono)'$"
others=$(grep -E '^error\[' <<<"$out" | grep -vE "$hono")
if [ -n "$others" ]; then
  echo "$out"
  exit 1
fi
echo "deno doc --lint: clean but for $(grep -cE "$hono" <<<"$out") references to Hono's own types"
