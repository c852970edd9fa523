/**
 * Listener statistics beside the Ruby gem raindrops (Debian `ruby-raindrops`,
 * installed with apt-get when missing), run in the same script on the same
 * sockets, as CPU time per query (user + system: the kernel's dump runs in
 * the asking process), over 9 interleaved rounds; each ratio is the median
 * of the rounds' ratios, as the machine's load weighs on both sides of a
 * round alike:
 * 1. one listener holding 5,000 accepted connections and 50 queued ones
 *    plus an idle listener: one address, both as a list, every listener;
 * 2. every listener with 1,000 and then 8,000 idle loopback listeners open
 *    here: the time ratio for 8x the listeners (target: at most 10x).
 * Needs about 13,000 descriptors; re-executes itself under `ulimit -n 16000`
 * when the soft limit is lower.
 * Run: node_modules/.bin/deno run -A bench/listen_stats.bench.ts
 *      node_modules/.bin/bun bench/listen_stats.bench.ts
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import process from "node:process";
import { InetDiagSocket, tcpListenerStats } from "../mod.ts";
import { closeAll, connect, HeldListener, waitFor } from "../test/fixtures/linux_sockets.ts";
import { emit, quick, runtimeLabel } from "./_bench.ts";

const ACCEPTED = 5000, QUEUED = 50, NOFILE = 16_000, ROUNDS = quick ? 3 : 9;
const FEW_LISTENERS = 1000, MANY_LISTENERS = 8000;

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const softLimit = Number(/Max open files\s+(\d+)/.exec(readFileSync("/proc/self/limits", "utf8"))?.[1] ?? 0);
if (softLimit < NOFILE) {
  if (process.env.RAINDROPS_BENCH_REEXEC) {
    console.error(
      `listen_stats bench: needs ${NOFILE} open files, have ${softLimit}; raise the hard limit (ulimit -Hn)`,
    );
    process.exit(1);
  }
  const argv = g.Bun
    ? [process.execPath, new URL(import.meta.url).pathname]
    : [g.Deno.execPath(), "run", "-A", new URL(import.meta.url).pathname];
  const r = spawnSync("bash", ["-c", `ulimit -n ${NOFILE} && exec "$@"`, "bash", ...argv], {
    stdio: "inherit",
    env: { ...process.env, RAINDROPS_BENCH_REEXEC: "1" },
  });
  process.exit(r.status ?? 1);
}

/** Makes sure the gem is there: installs Debian's ruby-raindrops when it is not. */
function ensureGem(): void {
  const has = () => spawnSync("ruby", ["-e", 'require "raindrops"'], { stdio: "ignore" }).status === 0;
  if (has()) return;
  console.log("installing ruby-raindrops with apt-get (the gem this library follows) ...");
  const install = ["apt-get", "install", "-y", "ruby-raindrops"];
  const cmd = process.getuid?.() === 0 ? install : ["sudo", ...install];
  spawnSync(cmd[0], cmd.slice(1), { stdio: "inherit" });
  if (!has()) throw new Error("the Ruby gem raindrops is missing and apt-get could not install ruby-raindrops");
}

/** One query: addresses, or null for every listener. */
interface Query {
  label: string;
  addrs: string[] | null;
}

/**
 * The gem's side of one round, in a Ruby child: CPU ms per query for each
 * query (warm-up first), and the figures it reports for `check`.
 */
const GEM_ROUND = `
require "raindrops"
require "json"
spec = JSON.parse(ARGV[0])
sock = Raindrops::InetDiagSocket.new
cpu = -> { Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID) }
ms = {}
spec["queries"].each do |q|
  n = spec["n"]
  [2, n / 5].max.times { Raindrops::Linux.tcp_listener_stats(q["addrs"], sock) }
  t = cpu.call
  n.times { Raindrops::Linux.tcp_listener_stats(q["addrs"], sock) }
  ms[q["label"]] = (cpu.call - t) * 1000.0 / n
end
all = Raindrops::Linux.tcp_listener_stats(nil, sock)
check = spec["check"] ? all[spec["check"]] : nil
puts JSON.generate({ "ms" => ms, "listeners" => all.size,
  "check" => check && { "active" => check.active, "queued" => check.queued } })
`;

interface GemRound {
  ms: Record<string, number>;
  listeners: number;
  check: { active: number; queued: number } | null;
}

function gemRound(queries: Query[], n: number, check?: string): GemRound {
  const r = spawnSync("ruby", ["-e", GEM_ROUND, JSON.stringify({ queries, n, check })], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ruby: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** CPU ms (user + system) per call over `n` calls, after a warm-up. */
function cpuMsPerQuery(body: () => unknown, n: number): number {
  for (let i = 0; i < Math.max(2, n / 5); i++) body();
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) body();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Runs ours and the gem's rounds interleaved; returns per query the median
 * CPU ms of each side and their spreads.
 */
function compare(queries: Query[], sock: InetDiagSocket, n: number, check?: string) {
  const ours = new Map<string, number[]>(), gem = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, label: string, ms: number) => m.set(label, [...m.get(label) ?? [], ms]);
  let gemListeners = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const q of queries) {
      push(ours, q.label, cpuMsPerQuery(() => tcpListenerStats(q.addrs ?? undefined, sock), n));
    }
    const round = gemRound(queries, n, check);
    gemListeners = round.listeners;
    if (check && r === 0) {
      const mine = tcpListenerStats(undefined, sock).get(check);
      if (round.check?.active !== mine?.active || round.check?.queued !== mine?.queued) {
        throw new Error(`gem and ours disagree on ${check}: ${JSON.stringify(round.check)} vs ${JSON.stringify(mine)}`);
      }
    }
    for (const q of queries) push(gem, q.label, round.ms[q.label]);
  }
  return queries.map((q) => {
    const o = ours.get(q.label)!, m = gem.get(q.label)!;
    const ratios = o.map((x, i) => x / m[i]);
    return {
      label: q.label,
      ours: median(o),
      gem: median(m),
      ratio: median(ratios),
      ratioSpread: [Math.min(...ratios), Math.max(...ratios)] as [number, number],
      oursMin: Math.min(...o),
      oursMax: Math.max(...o),
      gemListeners,
    };
  });
}

function print(title: string, rows: ReturnType<typeof compare>): void {
  console.log(`\n${title} — ${runtimeLabel()}, gem raindrops (ruby) in the same run`);
  console.log(`  ${"query".padEnd(28)} ${"ours ms".padStart(9)} ${"gem ms".padStart(9)}  ours/gem (rounds)`);
  for (const r of rows) {
    const [lo, hi] = r.ratioSpread.map((x) => x.toFixed(2));
    console.log(
      `  ${r.label.padEnd(28)} ${r.ours.toFixed(3).padStart(9)} ${r.gem.toFixed(3).padStart(9)}  ${
        r.ratio.toFixed(2).padStart(6)
      }x (${lo}–${hi})`,
    );
  }
  for (const r of rows) {
    emit({
      group: "listener stats",
      name: r.label,
      value: r.ours,
      unit: "CPU ms/query",
      baseline: "gem raindrops (ruby)",
      baselineValue: r.gem,
      spread: [r.oursMin, r.oursMax],
      ratio: r.ratio,
      ratioSpread: r.ratioSpread,
    });
  }
}

/** Opens idle loopback listeners (ports from the kernel) until `servers` holds `n`. */
async function openListeners(servers: net.Server[], n: number): Promise<void> {
  while (servers.length < n) {
    const batch = Array.from({ length: Math.min(500, n - servers.length) }, () => net.createServer());
    await Promise.all(batch.map((s) =>
      new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => resolve());
      })
    ));
    servers.push(...batch);
  }
}

ensureGem();
const sock = new InetDiagSocket();

// 1. One busy listener, one idle.
{
  const busy = await HeldListener.start(["tcp", "127.0.0.1"]);
  const idle: net.Server[] = [];
  await openListeners(idle, 1);
  const A = `127.0.0.1:${busy.port}`, B = `127.0.0.1:${(idle[0].address() as net.AddressInfo).port}`;
  const clients: net.Socket[] = [];
  try {
    const accepting = busy.accept(ACCEPTED);
    for (let i = 0; i < ACCEPTED; i += 250) {
      const batch = Math.min(250, ACCEPTED - i);
      clients.push(
        ...await Promise.all(
          Array.from({ length: batch }, () => connect({ host: "127.0.0.1", port: busy.port }, 20_000)),
        ),
      );
    }
    await accepting;
    for (let i = 0; i < QUEUED; i++) clients.push(await connect({ host: "127.0.0.1", port: busy.port }));
    await waitFor(
      () => tcpListenerStats(A, sock).get(A)!.queued === QUEUED,
      () => tcpListenerStats(A, sock).get(A),
      20_000,
    );
    for (const [what, s] of [["one", tcpListenerStats(A, sock)], ["all", tcpListenerStats(undefined, sock)]] as const) {
      const a = s.get(A);
      if (a?.active !== ACCEPTED || a?.queued !== QUEUED) throw new Error(`${what}: ${JSON.stringify(a)}`);
    }
    print(
      `listener stats, ${ACCEPTED} accepted + ${QUEUED} queued on one listener, one idle (CPU ms per query, medians of ${ROUNDS} rounds)`,
      compare(
        [
          { label: "one address", addrs: [A] },
          { label: "list of two", addrs: [A, B] },
          { label: "every listener", addrs: null },
        ],
        sock,
        20,
        A,
      ),
    );
  } finally {
    await closeAll(clients, 10_000);
    await busy[Symbol.asyncDispose]();
    await Promise.all(idle.map((s) => new Promise((r) => s.close(r))));
  }
}

// 2. Every listener with 1,000 then 8,000 listeners here.
{
  const servers: net.Server[] = [];
  try {
    const sizes = [FEW_LISTENERS, MANY_LISTENERS];
    const rows: ReturnType<typeof compare>[] = [];
    for (const size of sizes) {
      await openListeners(servers, size);
      const seen = tcpListenerStats(undefined, sock).size;
      if (seen < size) throw new Error(`every listener: ${seen} listed, ${size} open here`);
      const r = compare([{ label: `every listener (${size} here)`, addrs: null }], sock, size > 2000 ? 5 : 20);
      rows.push(r);
      print(`every listener, ${seen} listeners on the machine (gem saw ${r[0].gemListeners})`, r);
    }
    const [few, many] = rows.map((r) => r[0]);
    console.log(
      `  ${MANY_LISTENERS / FEW_LISTENERS}x the listeners: ours ${
        (many.ours / few.ours).toFixed(1)
      }x the time (target <= 10x), gem ${(many.gem / few.gem).toFixed(1)}x`,
    );
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}
sock.close();
process.exit(0);
