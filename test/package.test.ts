/**
 * The package as a user gets it: `make package`'s tarball installed with npm
 * into a project outside the repository, Zig absent from PATH and
 * RAINDROPS_LIB unset, used from the runtime running this test (Node.js:
 * the project's Node 26, and the machine's own older Node).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { RUNTIMES } from "./_helpers.ts";
import { hostRuntime, onlyUnder } from "./fixtures/host_runtime.ts";
import { documentedDenoFlags, documentedNodeCommands, namedBlock, section } from "./fixtures/readme.ts";
import { hostTarget } from "../src/native/library.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const VERSION = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
const rt = hostRuntime;

// Until the setup makes them, paths that do not exist: a test after a failed
// setup must fail, not install or write into this repository.
let work = "/nonexistent/package-setup-failed", project = work, tarball = work;
/** The environment of every user command: the runtimes on PATH, no Zig, no RAINDROPS_LIB. */
let userEnv: NodeJS.ProcessEnv = {};

/** Runs a command to completion; throws with its output when it fails and `check` is set. */
function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; check?: boolean } = {}) {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? project,
    env: opts.env ?? userEnv,
    encoding: "utf8",
    timeout: 120_000,
  });
  if (opts.check !== false && r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}

/** A local TCP listener this test holds, for the stats commands to report. */
async function listen(): Promise<Server & { port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return Object.assign(server, { port: (server.address() as { port: number }).port });
}

async function freePort(): Promise<number> {
  const s = await listen();
  await new Promise((r) => s.close(r));
  return s.port;
}

before(() => {
  work = mkdtempSync("/tmp/raindrops-test-pkg-");
  const dist = join(work, "dist");
  run("scripts/package.sh", [], { cwd: ROOT, env: { ...process.env, DIST: dist } });
  tarball = join(dist, `raindrops-${VERSION}.tgz`);
  // A bin directory holding only the three runtimes: no zig, whatever the machine has.
  const bin = join(work, "bin");
  mkdirSync(bin);
  symlinkSync(RUNTIMES.deno, join(bin, "deno"));
  symlinkSync(RUNTIMES.bun, join(bin, "bun"));
  symlinkSync(RUNTIMES.node, join(bin, "node"));
  const { RAINDROPS_LIB: _, ...env } = process.env;
  userEnv = { ...env, PATH: `${bin}:/usr/bin:/bin`, NO_COLOR: "1" };
  project = join(work, "app");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], { env: process.env });
});

after(() => rmSync(work, { recursive: true, force: true }));

test("the tarball holds compiled modules with types, both libraries, README and LICENSE, and nothing else", () => {
  const files = execFileSync("tar", ["tzf", tarball], { encoding: "utf8" }).trim().split("\n").map((f) =>
    f.replace(/^package\//, "")
  );
  for (const f of ["mod.js", "mod.d.ts", "hono.js", "hono.d.ts", "README.md", "LICENSE", "package.json"]) {
    assert.ok(files.includes(f), f);
  }
  const stray = files.filter((f) =>
    /(^|\/)(test|bench|zig|examples|scripts|\.ci)\//.test(f) || (f.endsWith(".ts") && !f.endsWith(".d.ts"))
  );
  assert.deepEqual(stray, []);
  const meta = JSON.parse(readFileSync(join(project, "node_modules/raindrops/package.json"), "utf8"));
  assert.equal(meta.license, "MIT");
  assert.match(readFileSync(join(project, "node_modules/raindrops/LICENSE"), "utf8"), /^MIT License/);
  for (const [cpu, machine] of [["x86_64", "X86-64"], ["aarch64", "AArch64"]]) {
    const lib = join(project, `node_modules/raindrops/native/${cpu}-linux/libraindrops.so`);
    assert.ok(files.includes(`native/${cpu}-linux/libraindrops.so`), cpu);
    assert.match(execFileSync("readelf", ["-h", lib], { encoding: "utf8" }), new RegExp(`Machine:.*${machine}`));
    assert.doesNotMatch(execFileSync("readelf", ["-d", lib], { encoding: "utf8" }), /NEEDED/, `${cpu} needs a libc`);
    assert.doesNotMatch(execFileSync("readelf", ["-S", lib], { encoding: "utf8" }), /\.debug_info|\.symtab/);
  }
});

test("package.json, deno.json and the CLI's version agree", async () => {
  const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  const { VERSION: cli } = await import("../src/version.ts");
  assert.equal(deno.version, VERSION);
  assert.equal(cli, VERSION);
  assert.equal(deno.name, "@raindrops/raindrops");
});

onlyUnder("deno", "deno publish --dry-run publishes the modules, README and LICENSE only", () => {
  const r = run(RUNTIMES.deno, ["publish", "--dry-run", "--allow-dirty"], { cwd: ROOT, env: process.env });
  const listed = [...(r.stdout + r.stderr).matchAll(/^\s+(file:\/\/\S+)/gm)].map((m) =>
    decodeURIComponent(new URL(m[1]!).pathname).slice(ROOT.length)
  );
  assert.ok(listed.length > 10, r.stdout + r.stderr);
  for (const f of ["mod.ts", "hono.ts", "README.md", "LICENSE", "deno.json"]) assert.ok(listed.includes(f), f);
  assert.deepEqual(listed.filter((f) => !/^(mod\.ts|hono\.ts|README\.md|LICENSE|deno\.json|src\/.*\.ts)$/.test(f)), []);
});

test(`${rt}: counters and listener stats from the installed package, without hono or zig`, async () => {
  assert.notEqual(run("sh", ["-c", "command -v zig"], { check: false }).status, 0, "zig is on PATH");
  assert.throws(() => readdirSync(join(project, "node_modules/hono")));
  const held = await listen();
  writeFileSync(
    join(project, "counters.ts"),
    `import { Raindrops, tcpListenerStats } from "raindrops";
using drops = new Raindrops(2);
drops.incr(1, 3);
const addr = "127.0.0.1:${held.port}";
console.log(JSON.stringify({ counters: drops.toArray(), stats: tcpListenerStats(addr).get(addr) }));
`,
  );
  const args = rt === "deno" ? ["run", "--allow-ffi", "counters.ts"] : ["counters.ts"];
  const out = JSON.parse(run(rt, args).stdout);
  held.close();
  assert.deepEqual(out.counters, [0, 3]);
  assert.equal(out.stats.active, 0);
  assert.ok(out.stats.backlog > 0, JSON.stringify(out.stats));
});

test(`${rt}: an installed package without its library names the paths tried and what to do`, () => {
  const lib = join(project, "node_modules/raindrops/native");
  renameSync(lib, `${lib}.away`);
  try {
    writeFileSync(
      join(project, "load.ts"),
      `import { Raindrops } from "raindrops";
try { new Raindrops(1); } catch (e) { console.log(JSON.stringify({ name: (e as Error).name, message: (e as Error).message })); }
`,
    );
    const out = JSON.parse(run(rt, rt === "deno" ? ["run", "--allow-ffi", "load.ts"] : ["load.ts"]).stdout);
    assert.equal(out.name, "NativeLibraryError");
    assert.match(out.message, /node_modules\/raindrops\/native\/(x86_64|aarch64)-linux\/libraindrops\.so: /);
    assert.doesNotMatch(out.message, /zig-out/, "a clone's build means nothing inside node_modules");
    assert.equal(out.message.split("\n").filter((l: string) => l.startsWith("  ")).length, 1, out.message);
    assert.match(out.message, /reinstall the package, or build libraindrops\.so with Zig and set RAINDROPS_LIB/);
    if (rt === "deno") {
      // RAINDROPS_LIB set, but unreadable without --allow-env: the error names the flag.
      const env = { ...userEnv, RAINDROPS_LIB: "/nowhere/libraindrops.so" };
      const hidden = JSON.parse(run("deno", ["run", "--allow-ffi", "load.ts"], { env }).stdout);
      assert.match(hidden.message, /RAINDROPS_LIB could not be read: .* add --allow-env=RAINDROPS_LIB\n/);
      const read = JSON.parse(
        run("deno", ["run", "--allow-ffi", "--allow-env=RAINDROPS_LIB", "load.ts"], { env }).stdout,
      );
      assert.match(read.message, /\n {2}\/nowhere\/libraindrops\.so: /);
      assert.doesNotMatch(read.message, /could not be read/);
      // No --allow-ffi: the summary names the permission, not a rebuild.
      const denied = JSON.parse(run("deno", ["run", "--no-prompt", "load.ts"]).stdout);
      assert.match(denied.message, /\nDeno refused to load a native library: grant it with --allow-ffi/);
      assert.doesNotMatch(denied.message, /reinstall|Zig/);
    }
  } finally {
    renameSync(`${lib}.away`, lib);
  }
});

onlyUnder(
  "bun",
  "bun build --compile: a compiled program loads the library RAINDROPS_LIB names, and says so without it",
  () => {
    writeFileSync(
      join(project, "compiled.ts"),
      `import { Raindrops } from "raindrops";
using drops = new Raindrops(1);
console.log(drops.incr(0, 7));
`,
    );
    run("bun", ["build", "--compile", "compiled.ts", "--outfile", "compiled"]);
    const bare = run(join(project, "compiled"), [], { check: false });
    assert.notEqual(bare.status, 0);
    assert.match(bare.stderr, /compiled binary .* set RAINDROPS_LIB to its absolute path/);
    const lib = join(project, `node_modules/raindrops/native/${hostTarget()}/libraindrops.so`);
    assert.equal(run(join(project, "compiled"), [], { env: { ...userEnv, RAINDROPS_LIB: lib } }).stdout, "7\n");
  },
);

test(`${rt}: the raindrops-listener-stats bin runs from the installed package`, async () => {
  const held = await listen();
  try {
    const addr = `127.0.0.1:${held.port}`;
    const [command, ...cmd] = {
      bun: ["bun", "x", "raindrops-listener-stats"],
      deno: ["deno", "run", "--allow-ffi", "npm:raindrops/raindrops-listener-stats"],
      node: ["npx", "raindrops-listener-stats"],
    }[rt];
    assert.equal(run(command!, [...cmd, "--version"]).stdout, `raindrops-listener-stats ${VERSION}\n`);
    const json = run(command!, [...cmd, "--json", addr]);
    const row = JSON.parse(json.stdout);
    assert.equal(row.address, addr);
    assert.ok(row.backlog > 0);
    assert.equal(json.stderr, "", "no warning on stderr");
    const dashed = run(command!, [...cmd, "--", "-d"], { check: false });
    assert.equal(dashed.status, 2);
    assert.match(dashed.stderr, /invalid address "-d"/);
  } finally {
    held.close();
  }
});

onlyUnder(
  "node",
  "the machine's own Node.js, without node:ffi, gets a NativeLibraryError naming its version and Node 26",
  () => {
    const probe = `import { Raindrops } from "raindrops";
try { new Raindrops(1); } catch (e) { console.log(e.name + ": " + e.message); }`;
    const old = "/usr/bin/node";
    const version = run(old, ["--version"], { env: process.env }).stdout.trim().slice(1);
    if (Number(version.split(".")[0]) >= 26) return; // this machine's Node has node:ffi: nothing to check
    const r = run(old, ["--input-type=module", "-e", probe], { env: process.env });
    assert.equal(
      r.stdout,
      `NativeLibraryError: Node.js ${version} has no node:ffi, which raindrops loads its native library with: ` +
        "use Node.js 26 or later (node:ffi is on there unless --no-experimental-ffi is given), " +
        "or Deno 2 or Bun 1.1 or later\n",
    );
  },
);

onlyUnder("node", "node: npx raindrops-listener-stats needs no Bun on PATH", async () => {
  const held = await listen();
  try {
    const onlyNode = join(work, "node-bin");
    mkdirSync(onlyNode, { recursive: true });
    symlinkSync(RUNTIMES.node, join(onlyNode, "node"));
    const env = { ...userEnv, PATH: `${onlyNode}:/usr/bin:/bin` };
    assert.notEqual(run("sh", ["-c", "command -v bun"], { env, check: false }).status, 0, "bun is on PATH");
    const r = run("npx", ["raindrops-listener-stats", "--json", `127.0.0.1:${held.port}`], { env });
    assert.equal(JSON.parse(r.stdout).address, `127.0.0.1:${held.port}`);
    assert.equal(r.stderr, "");
  } finally {
    held.close();
  }
});

/** A Node.js project with the tarball, hono and @hono/node-server installed (offline, from this checkout's copies). */
let nodeProject = "";
function nodeApp(): string {
  if (nodeProject) return nodeProject;
  nodeProject = join(work, "node-app");
  mkdirSync(nodeProject);
  writeFileSync(join(nodeProject, "package.json"), JSON.stringify({ name: "node-app", private: true, type: "module" }));
  const packed = ["hono-4.6", "@hono/node-server"].map((dir) =>
    run("npm", ["pack", "--silent", "--pack-destination", work, join(ROOT, "node_modules", dir)], {
      cwd: work,
      env: process.env,
    }).stdout.trim().split("\n").at(-1)!
  );
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball, ...packed.map((f) => join(work, f))], {
    cwd: nodeProject,
    env: process.env,
  });
  return nodeProject;
}

/** A Hono app on @hono/node-server with the middleware: answers its own /_raindrops once, prints it, and stops. */
const NODE_APP = `import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { raindrops } from "raindrops/hono";

const app = new Hono();
app.use(raindrops({ stats: process.env.STATS }));
app.get("/", (c) => c.text("hello"));
const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, async (info) => {
  await fetch(\`http://127.0.0.1:\${info.port}/\`);
  const res = await fetch(\`http://127.0.0.1:\${info.port}/_raindrops\`);
  console.log(JSON.stringify({ port: info.port, status: res.status, body: await res.text() }));
  server.close();
});
`;

/** Checks what NODE_APP printed: its own listener and counts, from the package's middleware. */
function checkNodeApp(stdout: string, what: string): void {
  const out = JSON.parse(stdout);
  assert.equal(out.status, 200, what);
  assert.match(out.body, /^calling: 0\nwriting: 0\n/, what);
  assert.match(out.body, new RegExp(`^127\\.0\\.0\\.1:${out.port} active: \\d+$`, "m"), `${what}: ${out.body}`);
}

onlyUnder(
  "node",
  "node: the installed package runs as plain `node app.js` and `node app.ts` on @hono/node-server",
  () => {
    const dir = nodeApp();
    const stats = `/dev/shm/raindrops-test-pkg-node-${process.pid}`;
    try {
      writeFileSync(join(dir, "app.js"), NODE_APP);
      writeFileSync(join(dir, "app.ts"), NODE_APP.replace("(info) =>", "(info: { port: number }) =>"));
      for (const file of ["app.js", "app.ts"]) {
        checkNodeApp(
          run("node", [file], { cwd: dir, env: { ...userEnv, STATS: stats } }).stdout,
          file,
        );
      }
    } finally {
      for (const f of [stats, `${stats}.metrics`]) rmSync(f, { force: true });
    }
  },
);

onlyUnder("node", "node: the README's Node.js command lines run as written", () => {
  const dir = nodeApp();
  const stats = `/dev/shm/raindrops-test-pkg-node-${process.pid}`;
  writeFileSync(join(dir, "app.js"), NODE_APP);
  writeFileSync(join(dir, "quiet-ffi-warning.js"), namedBlock("quiet-ffi-warning.js"));
  const commands = documentedNodeCommands();
  assert.ok(commands.some((c) => c.startsWith("node --permission --allow-ffi ")), commands.join("\n"));
  try {
    for (const command of commands) {
      const r = run("sh", ["-c", command], { cwd: dir, env: { ...userEnv, STATS: stats } });
      checkNodeApp(r.stdout, command);
      if (command === "node app.js") assert.match(r.stderr, /ExperimentalWarning: FFI is an experimental feature/);
      if (/quiet-ffi-warning|--disable-warning/.test(command)) assert.equal(r.stderr, "", command);
    }
  } finally {
    for (const f of [stats, `${stats}.metrics`]) rmSync(f, { force: true });
  }
});

onlyUnder("node", "node: tsc --strict with @types/node sees no error in a Node user's file", () => {
  const dir = nodeApp();
  writeFileSync(
    join(dir, "user.ts"),
    `import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { Raindrops, TcpInfo } from "raindrops";
import { raindrops, requestTcpInfo, withRaindrops } from "raindrops/hono";

using drops = new Raindrops(1);
const app = new Hono();
app.use(raindrops());
app.get("/tcp", (c) => c.json(requestTcpInfo(c).fields));
const server = serve({ fetch: withRaindrops(app.fetch), port: 0 });
console.log(drops.incr(0), TcpInfo.name, server.listening);
`,
  );
  const compilerOptions = {
    target: "ESNext",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    noEmit: true,
    types: ["node"],
    typeRoots: [join(ROOT, "node_modules/@types")],
  };
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["user.ts"] }));
  const r = run(join(ROOT, "node_modules/.bin/tsc"), ["-p", "."], { cwd: dir, check: false });
  assert.equal(r.stdout + r.stderr, "");
  assert.equal(r.status, 0);
});

onlyUnder("deno", "deno: the README's recipe for the tarball resolves raindrops and raindrops/hono", () => {
  const dir = join(work, "deno-app");
  mkdirSync(dir);
  const recipe = section("Installation").match(/^mkdir -p vendor .*$/m)?.[0];
  assert.ok(recipe, "README gives the unpacking line");
  run("sh", ["-c", recipe.replace("raindrops-0.1.0.tgz", tarball)], { cwd: dir });
  const manifest = section("Installation").match(/^echo '(\{.*"file:\.\/vendor\/raindrops".*\})' > package\.json$/m)
    ?.[1];
  assert.ok(manifest, "README gives the package.json");
  // hono from this checkout's copy instead of the registry, so the test runs offline.
  const deps = JSON.parse(manifest);
  deps.dependencies.hono = `file:${join(ROOT, "node_modules/hono-4.6")}`;
  writeFileSync(join(dir, "package.json"), JSON.stringify(deps));
  writeFileSync(
    join(dir, "app.ts"),
    `import { Raindrops } from "raindrops";
import { raindrops } from "raindrops/hono";
using drops = new Raindrops(1);
console.log(drops.incr(0, 5), typeof raindrops);
`,
  );
  run("deno", ["install"], { cwd: dir });
  assert.equal(run("deno", ["run", "--allow-ffi", "app.ts"], { cwd: dir }).stdout, "5 function\n");
});

/** A server of a default setup: the app file and how the user starts it. */
interface Setup {
  name: string;
  file: string;
  source: string;
  args: string[];
}

/** The default setups of the running runtime, serving on `port`. */
function setups(port: number): Setup[] {
  const app = `import { Hono } from "hono";
import { raindrops } from "raindrops/hono";
const app = new Hono();
app.use(raindrops());
app.get("/", (c) => c.text("hi"));
`;
  if (rt === "node") {
    return [{
      name: "@hono/node-server's serve({ fetch, port }), node app.js",
      file: "pkgapp_node.js",
      source: `import { serve } from "@hono/node-server";\n${app}serve({ fetch: app.fetch, port: ${port} });\n`,
      args: ["pkgapp_node.js"],
    }];
  }
  if (rt === "bun") {
    return [
      {
        name: "export default { port, fetch }",
        file: "pkgapp_export.ts",
        source: `${app}export default { port: ${port}, fetch: app.fetch };\n`,
        args: ["pkgapp_export.ts"],
      },
      {
        name: "Bun.serve({ port, fetch })",
        file: "pkgapp_serve.ts",
        source: `${app}Bun.serve({ port: ${port}, fetch: app.fetch });\n`,
        args: ["pkgapp_serve.ts"],
      },
    ];
  }
  const flags = documentedDenoFlags();
  return [
    {
      name: `deno serve ${flags.serve.join(" ")}`,
      file: "pkgapp_default.ts",
      source: `${app}export default app;\n`,
      args: ["serve", "--port", String(port), ...flags.serve, "pkgapp_default.ts"],
    },
    {
      name: `Deno.serve({ port }), deno run ${flags.run.join(" ")}`,
      file: "pkgapp_deno_serve.ts",
      source: `${app}Deno.serve({ port: ${port} }, app.fetch);\n`,
      args: ["run", ...flags.run, "pkgapp_deno_serve.ts"],
    },
  ];
}

/**
 * Removes the stats files the default setups created: `<script>-<hash>` in
 * this user's private directory (see privateDir), named after their scripts.
 */
function removeStatsFiles(): string[] {
  const dir = `/dev/shm/raindrops-${process.geteuid!()}`;
  const files = readdirSync(dir).filter((name) => name.startsWith("pkgapp_")).map((name) => join(dir, name));
  for (const file of files) rmSync(file, { force: true });
  return files;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await done;
}

test(`${rt}: a Hono app in the default setups answers /_raindrops with its own listener`, async () => {
  run("npm", ["pack", "--silent", "--pack-destination", work, join(ROOT, "node_modules/hono-4.6")], {
    cwd: work,
    env: process.env,
  });
  const hono = readdirSync(work).find((f) => /^hono-4\.6\.\d+\.tgz$/.test(f))!;
  const nodeServer = rt === "node"
    ? [
      run("npm", ["pack", "--silent", "--pack-destination", work, join(ROOT, "node_modules/@hono/node-server")], {
        cwd: work,
        env: process.env,
      }).stdout.trim(),
    ]
    : [];
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", ...[hono, ...nodeServer].map((f) => join(work, f))], {
    env: process.env,
  });
  try {
    const port = await freePort();
    for (const setup of setups(port)) {
      writeFileSync(join(project, setup.file), setup.source);
      const child = spawn(rt, setup.args, { cwd: project, env: userEnv, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr!.on("data", (d) => (stderr += d));
      try {
        let res: Response | undefined;
        for (let i = 0; i < 200 && !res && child.exitCode === null; i++) {
          res = await fetch(`http://127.0.0.1:${port}/_raindrops`).catch(() => undefined);
          if (!res) await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(res, `${setup.name}: no answer; stderr:\n${stderr}`);
        const body = await res.text();
        assert.equal(res.status, 200, `${setup.name}: ${body}\n${stderr}`);
        assert.match(body, new RegExp(`^\\S+:${port} active: \\d+$`, "m"), `${setup.name}: ${body}`);
        assert.match(body, /^calling: \d+\nwriting: \d+$/m, setup.name);
      } finally {
        await stop(child);
      }
    }
    const removed = removeStatsFiles();
    assert.ok(removed.length > 0, "the default setups' stats files, where they were looked for");
  } finally {
    removeStatsFiles();
  }
});

onlyUnder(
  "deno",
  "tsc --strict --noUncheckedIndexedAccess and deno check see no error in a file using both entry points",
  () => {
    writeFileSync(
      join(project, "user.ts"),
      `import { Hono } from "hono";
import { type ListenStats, Raindrops, Struct, TcpInfo, tcpListenerStats } from "raindrops";
import { LastDataRecv, raindrops, requestTcpInfo, Watcher, withRaindrops } from "raindrops/hono";

using drops = new Raindrops(2);
const n: number = drops.incr(0);
const Stats = Struct(["calling", "writing"]);
using stats = new Stats();
stats.incr("calling");
const s: ListenStats | undefined = tcpListenerStats("127.0.0.1:1").get("127.0.0.1:1");
const app = new Hono();
app.use(raindrops());
const ldr = new LastDataRecv();
app.use(ldr.middleware);
app.get("/", (c) => c.text(String(requestTcpInfo(c).get("rtt") ?? n)));
const fetch = withRaindrops(app.fetch);
using watcher = new Watcher({ delay: 1 });
console.log(typeof fetch, s?.queued, TcpInfo.name, watcher.listeners);
`,
    );
    const tsc = join(ROOT, "node_modules/.bin/tsc");
    // bun init's and a Node project's settings, with the checks strict users add.
    for (const [module, moduleResolution] of [["NodeNext", "NodeNext"], ["Preserve", "bundler"]]) {
      const compilerOptions = {
        target: "ESNext",
        lib: ["ESNext", "DOM"],
        module,
        moduleResolution,
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: false,
        noEmit: true,
        types: [],
      };
      writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["user.ts"] }));
      const r = run(tsc, ["-p", "."], { check: false });
      assert.equal(r.stdout + r.stderr, "", `tsc with module ${module}`);
      assert.equal(r.status, 0);
    }
    const r = run("deno", ["check", "user.ts"], { check: false });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  },
);
