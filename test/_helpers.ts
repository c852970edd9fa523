/**
 * Shared test helpers: temporary shared-file paths that clean themselves up,
 * and child processes of either runtime.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";

const ROOT = new URL("..", import.meta.url).pathname;

/** Paths of the runtimes installed in the project. */
export const RUNTIMES = {
  deno: `${ROOT}node_modules/.bin/deno`,
  bun: `${ROOT}node_modules/.bin/bun`,
  node: `${ROOT}node_modules/.bin/node`,
} as const;

export type RuntimeName = keyof typeof RUNTIMES;

/**
 * Arguments that run a script file with a runtime (Node.js without its
 * warning that node:ffi is experimental, which would be the only noise on
 * stderr).
 */
export function scriptArgs(runtime: RuntimeName, script: string): string[] {
  if (runtime === "deno") return ["run", "-A", script];
  return runtime === "node" ? ["--disable-warning=ExperimentalWarning", script] : [script];
}

let counter = 0;

/** A fresh path under /dev/shm, removed (with its leftovers) on dispose. */
export function tempShm(label = "x"): { path: string } & Disposable {
  const path = `/dev/shm/raindrops-test-${process.pid}-${label}-${counter++}`;
  // The middleware's request metrics live in a registry file beside its stats file.
  return {
    path,
    [Symbol.dispose]: () => {
      rmSync(path, { force: true });
      rmSync(`${path}.metrics`, { force: true });
    },
  };
}

/** The absolute path of a fixture script. */
export function fixture(name: string): string {
  return new URL(`./fixtures/${name}`, import.meta.url).pathname;
}

/** Result of a finished child process. */
export interface ChildResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs a fixture with a runtime and waits for it (killed after `timeoutMs`). */
export function runFixture(
  runtime: RuntimeName,
  name: string,
  args: string[] = [],
  timeoutMs = 60_000,
): Promise<ChildResult> {
  const child = spawn(RUNTIMES[runtime], [...scriptArgs(runtime, fixture(name)), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "", stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The number of open file descriptors of this process. */
export function openFdCount(): number {
  // deno-lint-ignore no-explicit-any
  const fs = (globalThis as any).process.getBuiltinModule?.("node:fs") ?? null;
  if (fs) return fs.readdirSync("/proc/self/fd").length;
  throw new Error("node:fs unavailable");
}

/** A Worker thread as the tests use it, the same on every runtime. */
export interface Thread {
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: unknown) => void) | null;
  postMessage(message: unknown): void;
  terminate(): void;
}

/**
 * Starts a Worker thread running the fixture `name`: the web Worker on Deno
 * and Bun, node:worker_threads' Worker on Node.js (which has no web Worker).
 * The fixture talks back through `parent` of ./fixtures/thread_parent.ts.
 */
export function startThread(name: string): Thread {
  const url = new URL(`./fixtures/${name}`, import.meta.url);
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (typeof g.Worker === "function") return new g.Worker(url.href, { type: "module" });
  const worker = new (g.process.getBuiltinModule("node:worker_threads").Worker)(url);
  const thread: Thread = {
    onmessage: null,
    onerror: null,
    postMessage: (message) => worker.postMessage(message),
    terminate: () => void worker.terminate(),
  };
  worker.on("message", (data: unknown) => thread.onmessage?.({ data }));
  worker.on("error", (e: unknown) => thread.onerror?.(e));
  return thread;
}
