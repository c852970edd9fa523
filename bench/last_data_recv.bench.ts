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
import { sharedChannel } from "../src/linux/diag_socket.ts";
import { ConnectionSockets } from "../src/last_data_recv/connection_sockets.ts";
import { emit, median, nsPerOp, quick, report, runtimeLabel } from "./_bench.ts";
import { type BenchServer, type Measured, pairedRound, pinned, requireWrk, startServer, warmUp } from "./_paired.ts";

const ROUNDS = Number(process.env.ROUNDS ?? (quick ? 3 : 6));
const SECONDS_EACH = Number(process.env.SECONDS_EACH ?? (quick ? 2 : 4));
const CONNS = Number(process.env.CONNS ?? 16);
const LABELS = {
  empty: "empty handler",
  noop: "no-op middleware",
  middleware: "app.use(ldr.middleware)",
  wrap: "ldr.wrap(app.fetch)",
  address: "client address only (wrapper)",
} as const;
type Variant = keyof typeof LABELS;
/** Each measured variant and its baseline, with the target where the project sets one. */
const PAIRS: [Variant, Variant, number?][] = [
  ["wrap", "empty", 1.05],
  ["middleware", "noop", 1.05],
  ["noop", "empty"],
  ["address", "empty"],
];

requireWrk("last_data_recv bench");
const script = new URL("./last_data_recv_server.ts", import.meta.url).pathname;
const servers = {} as Record<Variant, BenchServer>;
const results = PAIRS.map(() => ({ variant: [] as Measured[], base: [] as Measured[] }));
let warmUps = 0;
try {
  for (const v of Object.keys(LABELS) as Variant[]) servers[v] = await startServer(LABELS[v], script, { MODE: v });
  await warmUp(Object.values(servers), 2, CONNS);
  warmUps++;
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, [v, base]] of PAIRS.entries()) {
      const [mv, mb] = await pairedRound(servers[v], servers[base], SECONDS_EACH, CONNS);
      results[i].variant.push(mv);
      results[i].base.push(mb);
    }
  }
  for (const v of ["middleware", "wrap"] as const) {
    const check = await (await fetch(`http://127.0.0.1:${servers[v].port}/_ldr`)).json();
    // Every wrk run opens CONNS connections, each recorded once (and this check's own).
    const runs = warmUps + ROUNDS;
    if (check.count < CONNS * runs || check.count > CONNS * runs + 2 || check.missed !== 0) {
      throw new Error(`${v}: LastDataRecv recorded ${JSON.stringify(check)} over ${runs} runs of ${CONNS}`);
    }
  }
} finally {
  for (const s of Object.values(servers)) s.child.kill();
}

console.log(
  `\nLastDataRecv, server CPU µs per request, each variant side by side with its baseline (${ROUNDS} rounds of ${SECONDS_EACH} s, wrk -c${CONNS} keep-alive each${
    pinned ? ", servers on CPU 0, wrk on CPU 1" : ""
  }) — ${runtimeLabel()}`,
);
for (const [i, [v, base, target]] of PAIRS.entries()) {
  const { variant, base: baseline } = results[i];
  const ratios = variant.map((m, r) => m.us / baseline[r].us);
  const ratio = median(ratios);
  const us = median(variant.map((m) => m.us)), baseUs = median(baseline.map((m) => m.us));
  const added = median(variant.map((m, r) => m.us - baseline[r].us));
  const verdict = target === undefined ? "" : `  target <= ${target}: ${ratio <= target ? "met" : "NOT met"}`;
  console.log(
    `  ${LABELS[v].padEnd(32)} ${ratio.toFixed(3)}x ${LABELS[base]} (rounds ${Math.min(...ratios).toFixed(3)}–${
      Math.max(...ratios).toFixed(3)
    })  ${us.toFixed(2)} vs ${baseUs.toFixed(2)} µs, ${added >= 0 ? "+" : ""}${added.toFixed(2)} µs${verdict}`,
  );
  emit({
    group: `LastDataRecv, side by side with its baseline (wrk -c${CONNS} keep-alive each)`,
    name: LABELS[v],
    value: us,
    unit: "CPU µs/request",
    baseline: LABELS[base],
    baselineValue: baseUs,
    ratio,
    ratioSpread: [Math.min(...ratios), Math.max(...ratios)],
  });
}

// The two paths of a request, in this process, on one established loopback connection.
const target = net.createServer(() => {});
await new Promise<void>((r) => target.listen(0, "127.0.0.1", () => r()));
const tport = (target.address() as net.AddressInfo).port;
const probe = net.connect(tport, "127.0.0.1");
await new Promise<void>((r) => probe.once("connect", () => r()));
const remote = `127.0.0.1:${probe.localPort}`;
const conn = { key: remote, remote, localPort: tport };
const connections = new ConnectionSockets(sharedChannel);
const first = nsPerOp((n) => {
  for (let i = 0; i < n; i++) connections.first(conn);
}, quick ? 2_000 : 20_000);
const later = nsPerOp((n) => {
  for (let i = 0; i < n; i++) connections.known(conn.key);
}, quick ? 200_000 : 2_000_000);
report("a request's path in LastDataRecv, µs per request", [
  { label: "first request: sock_diag lookup", value: first / 1000, unit: "µs" },
  {
    label: "later request: known connection",
    value: later / 1000,
    unit: "µs",
    baseline: first / 1000,
    baselineName: "first request: sock_diag lookup",
  },
]);
probe.destroy();
target.close();
process.exit(0);
