/**
 * Every TypeScript block of the README runs, as written, on the runtime
 * running this test: a block with `export default` is served (deno serve /
 * bun / on Node.js, its default export's fetch by @hono/node-server) and
 * answers `/` (and `/_raindrops` when it uses the middleware); any
 * other block runs to a clean exit. Under Deno the blocks are type-checked
 * too. A launcher of Bun processes (`Bun.spawn`) has its own test in
 * readme_facts.test.ts. Imports of the package are pointed at this checkout, and shared
 * files at raindrops-test-* names so that they are cleaned up.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { RUNTIMES } from "./_helpers.ts";
import { hostRuntime, onlyUnder } from "./fixtures/host_runtime.ts";
import { codeBlocks } from "./fixtures/readme.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const rt = hostRuntime;
// Inside the checkout, so that "hono" resolves from its node_modules.
const DIR = join(ROOT, "test-output", `readme-${rt}-${process.pid}`);
const SHM = `raindrops-test-readme-${process.pid}-`;
mkdirSync(DIR, { recursive: true });

after(() => {
  rmSync(DIR, { recursive: true, force: true });
  for (const name of readdirSync("/dev/shm")) if (name.startsWith(SHM)) rmSync(join("/dev/shm", name));
});

/** A block as a file of this checkout. */
function localize(code: string): string {
  return code
    .replaceAll(`from "raindrops/hono"`, `from "${ROOT}hono.ts"`)
    .replaceAll(`from "raindrops"`, `from "${ROOT}mod.ts"`)
    .replaceAll(`"/dev/shm/`, `"/dev/shm/${SHM}`);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A script serving `file`'s default export with @hono/node-server on $PORT, as Node.js has no default-export serving. */
function nodeServer(file: string): string {
  const server = file.replace(/\.ts$/, ".node_server.ts");
  writeFileSync(
    server,
    `import { serve } from "@hono/node-server";
import served from "./${file.slice(file.lastIndexOf("/") + 1)}";
serve({ fetch: served.fetch, port: Number(process.env.PORT), hostname: "127.0.0.1" });
`,
  );
  return server;
}

const blocks = codeBlocks().filter((b) => b.lang === "ts" && !b.code.includes("Bun.spawn("));
const files: string[] = [];

test("the README has TypeScript blocks, all importing the package by its published names", () => {
  assert.ok(blocks.length >= 6, `${blocks.length} blocks`);
  for (const b of blocks) assert.doesNotMatch(b.code, /from "\.\.?\//, `README line ${b.line} imports a relative path`);
});

for (const block of blocks) {
  const file = join(DIR, `block_${block.line}.ts`);
  files.push(file);
  writeFileSync(file, localize(block.code));
  const serves = /^export default /m.test(block.code);
  test(`${rt}: README block at line ${block.line} ${serves ? "serves" : "runs"}`, async () => {
    const port = await freePort();
    const args = rt === "deno"
      ? (serves ? ["serve", "-A", "--port", String(port), file] : ["run", "-A", file])
      : rt === "node" && serves
      ? [nodeServer(file)]
      : [file];
    const env = { ...process.env, PORT: String(port), RAINDROPS_STATS: `/dev/shm/${SHM}${block.line}`, NO_COLOR: "1" };
    const child = spawn(RUNTIMES[rt], args, { cwd: DIR, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    try {
      if (!serves) {
        assert.equal(await exited, 0, out);
        return;
      }
      let res: Response | undefined;
      for (let i = 0; i < 200 && !res && child.exitCode === null; i++) {
        res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
        if (!res) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(res, `no answer on :${port}\n${out}`);
      assert.equal(res.status, 200, (await res.text()).slice(0, 400));
      if (/raindrops\(|withRaindrops\(/.test(block.code)) {
        const stats = await fetch(`http://127.0.0.1:${port}/_raindrops`, { signal: AbortSignal.timeout(5000) });
        const body = await stats.text();
        assert.equal(stats.status, 200, body.slice(0, 400));
        assert.match(body, new RegExp(`^\\S+:${port} active: \\d+$`, "m"));
      }
    } finally {
      // SIGKILL: a server's graceful shutdown may wait on the client's idle connections.
      child.kill("SIGKILL");
      await exited;
      clearTimeout(timer);
    }
  });
}

onlyUnder("deno", "deno check passes on every README block", () => {
  const r = spawnSync(RUNTIMES.deno, ["check", ...files], {
    cwd: DIR,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
