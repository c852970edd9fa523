/**
 * Starts the two example servers sharing one stats file: 2 Bun worker
 * processes on one port (reusePort, examples/bun_workers.ts) and
 * `deno serve --parallel` on another (examples/deno_parallel.ts). Used by
 * the demo and by the Prometheus test.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";

const bin = (name: string) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;
const example = (name: string) => new URL(`./${name}`, import.meta.url).pathname;

/**
 * Spawns both servers with `env` (set RAINDROPS_STATS there to share a
 * file); their stdout goes to `stdout`, stderr to ours. Stop them with
 * SIGTERM (the Bun parent stops its workers).
 *
 * @example
 * ```ts
 * const [bun, deno] = spawnExampleServers(8080, 8081, { ...process.env, RAINDROPS_STATS: "/dev/shm/x" });
 * ```
 */
export function spawnExampleServers(
  bunPort: number,
  denoPort: number,
  env: Record<string, string | undefined>,
  stdout: "inherit" | "ignore" = "ignore",
): ChildProcess[] {
  return [
    spawn(bin("bun"), [example("bun_workers.ts"), "2", String(bunPort)], { env, stdio: ["ignore", stdout, "inherit"] }),
    spawn(bin("deno"), [
      "serve",
      "-A",
      "--quiet",
      "--parallel",
      "--host",
      "127.0.0.1",
      "--port",
      String(denoPort),
      example("deno_parallel.ts"),
    ], { env, stdio: ["ignore", stdout, "inherit"] }),
  ];
}

/**
 * Spawns examples/node_cluster.ts: a Node.js cluster primary and its 2
 * workers serving the same app on `port` with `@hono/node-server`, with
 * `env` (RAINDROPS_STATS there shares the file with the other servers).
 * Stop it with SIGTERM (the primary stops its workers).
 *
 * @example
 * ```ts
 * const node = spawnNodeCluster(8084, { ...process.env, RAINDROPS_STATS: "/dev/shm/x" });
 * ```
 */
export function spawnNodeCluster(
  port: number,
  env: Record<string, string | undefined>,
  stdout: "inherit" | "ignore" = "ignore",
): ChildProcess {
  const args = ["--disable-warning=ExperimentalWarning", example("node_cluster.ts"), "2", String(port)];
  return spawn(bin("node"), args, { env, stdio: ["ignore", stdout, "inherit"] });
}
