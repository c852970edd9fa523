/**
 * A worker killed but not yet reaped (a zombie: its /proc entry lingers in
 * state Z) no longer counts. The worker's parent is a `sleep` that never
 * waits for children, so the zombie is real.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { WorkerStats } from "../src/worker_stats.ts";
import { fixture, type RuntimeName, RUNTIMES, scriptArgs, tempShm } from "./_helpers.ts";

function state(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return "gone";
  }
}

for (const rt of Object.keys(RUNTIMES) as RuntimeName[]) {
  test(`${rt}: a killed worker left a zombie stops counting at once`, { timeout: 60_000 }, async () => {
    using tmp = tempShm("zombie");
    const command = [RUNTIMES[rt], ...scriptArgs(rt, fixture("stats_holder.ts")), tmp.path].join(" ");
    const parent = spawn("sh", ["-c", `${command} & echo "pid $!"; exec sleep 60`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      let out = "";
      await new Promise<void>((resolve, reject) => {
        parent.stdout!.on("data", (d) => {
          out += d;
          if (out.includes("ready")) resolve();
        });
        parent.on("close", () => reject(new Error(`holder exited: ${out}`)));
      });
      const pid = Number(/pid (\d+)/.exec(out)![1]);
      using stats = WorkerStats.open(tmp.path);
      assert.deepEqual(stats.totals(), { calling: 3, writing: 0, workers: 2 });
      process.kill(pid, "SIGKILL");
      for (let i = 0; i < 500 && state(pid) !== "Z"; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(state(pid), "Z", "the killed worker is a zombie, not reaped");
      assert.deepEqual(stats.totals(), { calling: 0, writing: 0, workers: 1 });
    } finally {
      parent.kill("SIGKILL");
    }
  });
}
