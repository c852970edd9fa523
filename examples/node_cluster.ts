/**
 * Node.js cluster: a primary forks N workers that serve one Hono app on one
 * port with @hono/node-server and share one stats file; a worker that dies
 * is replaced.
 *
 *   node examples/node_cluster.ts [workers=2] [port=8080]
 *   curl http://127.0.0.1:8080/_raindrops
 *
 * Node's default scheduling on Linux is round-robin: the primary accepts
 * every connection and hands it to a worker, so `queued` counts only what
 * the primary has not accepted yet and `active` every connection it handed
 * on. With NODE_CLUSTER_SCHED_POLICY=none the workers accept from the
 * shared socket themselves, as the gem's preforking servers do, and
 * `queued` counts connections that no worker has taken yet (see README).
 * Counts of a worker that dies (even by SIGKILL) leave the totals with it.
 */
import cluster from "node:cluster";
import process from "node:process";
import { serve } from "@hono/node-server";
import { exampleApp } from "./hono_app.ts";

const workers = Number(process.argv[2] ?? 2);
const port = Number(process.argv[3] ?? 8080);
const stats = process.env.RAINDROPS_STATS ?? `/dev/shm/raindrops-example-${port}`;

if (cluster.isPrimary) {
  let stopping = false;
  const listened = new Set<number>();
  const fork = () => cluster.fork({ RAINDROPS_STATS: stats });
  for (let i = 0; i < workers; i++) fork();
  // Replaced: a worker that had served; one that never listened would only fail again.
  cluster.on("exit", (worker) => stopping || !listened.has(worker.id) || fork());
  cluster.on("listening", (worker) => listened.add(worker.id));
  console.log(
    `${workers} workers on http://127.0.0.1:${port}/  stats: http://127.0.0.1:${port}/_raindrops (file ${stats})`,
  );
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} else {
  const app = exampleApp(stats);
  serve({ fetch: app.fetch, port, hostname: "127.0.0.1" });
  // A worker never outlives its primary, even one killed with SIGKILL.
  process.on("disconnect", () => process.exit(0));
}
