#!/usr/bin/env bash
# Writes dist/raindrops-<version>.tgz ($DIST/… when set): the modules compiled to JavaScript
# with declarations (Deno refuses TypeScript under node_modules; strict tsc
# users see no errors inside the package), the native library built for
# each packaged CPU (baseline CPU, stripped, no libc), README and LICENSE.
# Nothing else: no tests, benches, Zig sources or CI files.
set -euo pipefail
cd "$(dirname "$0")/.."
ZIG=${ZIG:-$PWD/.venv/bin/python -m ziglang}
TSC=${TSC:-node_modules/.bin/tsc}
stage=build/package
dist=${DIST:-dist}
rm -rf "$stage" && mkdir -p "$stage" "$dist"

"$TSC" -p tsconfig.build.json

# The CPUs src/native/library.ts looks for (PACKAGED_TARGETS).
for cpu in x86_64 aarch64; do
  out="build/zig-$cpu-linux"
  (cd zig && $ZIG build --release=safe -Dtarget="$cpu-linux-musl" -Dcpu=baseline -Dstrip -p "../$out")
  lib="$out/lib/libraindrops.so"
  needed=$(readelf -d "$lib" | grep NEEDED || true)
  [ -z "$needed" ] || { echo "$lib depends on shared libraries:"; echo "$needed"; exit 1; } >&2
  mkdir -p "$stage/native/$cpu-linux"
  cp "$lib" "$stage/native/$cpu-linux/libraindrops.so"
done

cp README.md LICENSE "$stage/"
# The bins: a launcher each that runs the module's main() whatever
# import.meta.main says (Node before 24 has none; bunx runs a node-shebang
# script as a module that is not main when Node is absent). The shebang is
# node, so npx needs no Bun on PATH; bunx and `deno run npm:…` run it with
# their own runtime. Node's notice that node:ffi is experimental would be a
# bin's only noise on stderr: the launcher drops that one warning.
mkdir -p "$stage/bin"
node - "$stage/bin" <<'JS'
const fs = require("node:fs");
const { bin } = JSON.parse(fs.readFileSync("package.json", "utf8"));
for (const [name, module] of Object.entries(bin)) {
  const launcher = `${process.argv[2]}/${name}.js`;
  fs.writeFileSync(
    launcher,
    `#!/usr/bin/env node
import process from "node:process";
import { commandLineArgs } from "../src/cli/_args.js";
import { main } from "../${module.replace(/^\.\//, "").replace(/\.ts$/, ".js")}";

const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const message = typeof warning === "string" ? warning : warning?.message;
  if (message?.startsWith("FFI is an experimental feature")) return;
  return emitWarning.call(this, warning, ...rest);
};
process.exit(await main(commandLineArgs()));
`,
  );
  fs.chmodSync(launcher, 0o755);
}
JS

# The published package.json: the repository's, pointing at the compiled files.
node - "$stage/package.json" <<'JS'
const fs = require("node:fs");
const src = JSON.parse(fs.readFileSync("package.json", "utf8"));
const js = (p) => p.replace(/\.ts$/, ".js");
const exports = Object.fromEntries(
  Object.entries(src.exports).map(([k, p]) => [k, { types: p.replace(/\.ts$/, ".d.ts"), default: js(p) }]),
);
const bin = Object.fromEntries(Object.keys(src.bin).map((k) => [k, `./bin/${k}.js`]));
const out = {
  name: src.name,
  version: src.version,
  description: src.description,
  keywords: src.keywords,
  license: src.license,
  type: "module",
  os: ["linux"],
  cpu: ["x64", "arm64"],
  exports,
  bin,
  peerDependencies: src.peerDependencies,
  peerDependenciesMeta: src.peerDependenciesMeta,
  engines: src.engines,
};
fs.writeFileSync(process.argv[2], JSON.stringify(out, null, 2) + "\n");
JS

npm pack --silent --pack-destination "$dist" "./$stage" >/dev/null
version=$(node -p 'require("./package.json").version')
tgz="$dist/raindrops-$version.tgz"
[ -f "$tgz" ] || { echo "npm pack wrote no $tgz" >&2; exit 1; }
echo "$tgz $(stat -c %s "$tgz") bytes"
