/**
 * The per-request cost of LastDataRecv (a benchmark, not a test), as the
 * server's CPU time per request, each variant side by side with its
 * baseline (see _paired.ts): servers (bench/last_data_recv_server.ts) of
 * this runtime with an empty handler (the baseline), a no-op middleware,
 * `app.use(ldr.middleware)`, `ldr.wrap(app.fetch)` and a wrapper that only
 * reads the client's address (what identifying every request would cost),
 * wrk with 16 keep-alive connections each, median and spread of the
 * per-round ratios. LastDataRecv records each connection once, so on
 * keep-alive connections its cost is what telling whether a request's
 * connection is new costs. Then, in this process, the two paths of a
 * request it identifies: a connection's first (the sock_diag lookup) and a
 * later one (known by a Map lookup).
 *
 *   node_modules/.bin/deno run -A bench/last_data_recv.bench.ts
 *   node_modules/.bin/bun bench/last_data_recv.bench.ts
 *   (ROUNDS, SECONDS_EACH, CONNS; BENCH_QUICK=1: 3 rounds of 2 s)
 *
 * @module
 */
import net from "node:net";
import process from "node:process";
import { nsPerOp, quick, report } from "./_bench.ts";
import { TcpInfo } from "../mod.ts";
import { type BenchServer, measurePairs, type Pair, reportPairs, requireWrk, settings } from "./_paired.ts";

const LABELS = {
  empty: "empty handler",
  noop: "no-op middleware",
  middleware: "app.use(ldr.middleware)",
  wrap: "ldr.wrap(app.fetch)",
  address: "client address only (wrapper)",
} as const;
type Variant = keyof typeof LABELS;
const PAIRS: Pair<Variant>[] = [
  ["wrap", "empty", 1.05],
  ["middleware", "noop", 1.05],
  ["noop", "empty"],
  ["address", "empty"],
];

/** Every wrk run (the warm-up and one per round) opens its connections anew: each must be recorded once. */
async function checkCounts(servers: Record<Variant, BenchServer>): Promise<void> {
  for (const v of ["middleware", "wrap"] as const) {
    const check = await (await fetch(`http://127.0.0.1:${servers[v].port}/_ldr`)).json();
    const expected = settings.connections * (1 + settings.rounds);
    if (check.count < expected || check.count > expected + 2 || check.missed !== 0) {
      throw new Error(`${v}: LastDataRecv recorded ${JSON.stringify(check)}, expected ${expected}`);
    }
  }
}

requireWrk("last_data_recv bench");
const script = new URL("./last_data_recv_server.ts", import.meta.url).pathname;
const results = await measurePairs(script, LABELS, PAIRS, undefined, checkCounts);
reportPairs("LastDataRecv", "LastDataRecv", LABELS, PAIRS, results);

// A connection's first request costs one sock_diag lookup of it (as
// TcpInfo.fromRemote asks); later requests of a known connection cost a map
// lookup, which the paired servers above include.
const target = net.createServer(() => {});
await new Promise<void>((r) => target.listen(0, "127.0.0.1", () => r()));
const tport = (target.address() as net.AddressInfo).port;
const probe = net.connect(tport, "127.0.0.1");
await new Promise<void>((r) => probe.once("connect", () => r()));
const remote = `127.0.0.1:${probe.localPort}`;
const known = new Map([[remote, 1]]);
const first = nsPerOp((n) => {
  for (let i = 0; i < n; i++) TcpInfo.fromRemote(remote, { localPort: tport });
}, quick ? 2_000 : 20_000);
const later = nsPerOp((n) => {
  for (let i = 0; i < n; i++) known.get(remote);
}, quick ? 200_000 : 2_000_000);
report("a request's path in LastDataRecv, µs per request", [
  { label: "first request: sock_diag lookup", value: first / 1000, unit: "µs" },
  {
    label: "later request: known connection (a map lookup)",
    value: later / 1000,
    unit: "µs",
    baseline: first / 1000,
    baselineName: "first request: sock_diag lookup",
  },
]);
probe.destroy();
target.close();
process.exit(0);
