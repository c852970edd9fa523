import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { Watcher } from "../src/watcher/watcher.ts";
import { WorkerStats } from "../src/worker_stats.ts";
import { tempShm } from "./_helpers.ts";
import { statsOf } from "./fixtures/middleware_serve.ts";
import { eventually, runtimeName, watchedWorkers } from "./fixtures/watcher_servers.ts";

// deno-lint-ignore no-explicit-any
type Series = any;

test(
  `the Watcher reads a middleware stats file: workers' calling and writing in total and per worker (${runtimeName})`,
  {
    timeout: 60_000,
  },
  async () => {
    await using w = await watchedWorkers("watcher-workers", 0.05);
    const { workers, holds, server } = w;
    {
      const series = async (): Promise<Series> => (await fetch(`${server.origin}/series.json`)).json();
      holds.calling(workers[0].port);
      holds.calling(workers[0].port);
      await holds.writing(workers[1].port);
      let last: Series;
      await eventually(async () => {
        last = (await series()).workers;
        return last.calling === 2 && last.writing === 1;
      }, () => last);
      assert.equal(last.workers, 2);
      assert.equal(last.path, w.path);
      assert.equal(last.error, null);
      const byTid = new Map(last.perWorker.map((w: Series) => [w.tid, w]));
      assert.deepEqual([...byTid.keys()].sort(), workers.map((x) => x.tid).sort());
      assert.deepEqual(
        [byTid.get(workers[0].tid), byTid.get(workers[1].tid)].map((x: Series) => [x.calling, x.writing]),
        [[2, 0], [0, 1]],
      );
      const [t, calling, writing, count] = last.points.at(-1);
      assert.ok(Math.abs(t - Date.now()) < 5000);
      assert.deepEqual([calling, writing, count], [2, 1, 2]);
      assert.ok(last.perWorker.every((x: Series) => x.points.length > 0), "a chart per worker");

      // Reading the file does not make the Watcher one of its workers.
      assert.equal((await statsOf(`http://127.0.0.1:${workers[0].port}`)).workers, 2);

      const html = await (await fetch(`${server.origin}/`)).text();
      assert.match(html, /<h2>Workers<\/h2>/);
      assert.match(
        html,
        /<tr data-tid="all">[\s\S]*?<td class="num calling">2<\/td>\s*<td class="num writing">1<\/td>/,
      );
      for (const { tid } of workers) assert.ok(html.includes(`<tr data-tid="${tid}">`), `row of worker ${tid}`);
      assert.match(html, /data-lines="calling writing"/);

      // A worker killed outright drops out of the totals and its row goes.
      await workers[1].kill("SIGKILL");
      await eventually(async () => {
        last = (await series()).workers;
        return last.workers === 1;
      }, () => last);
      assert.deepEqual(last.perWorker.map((x: Series) => x.tid), [workers[0].tid]);
      assert.equal(last.writing, 0);
    }
  },
);

test(`a missing stats file is shown as such and not created; a foreign file is an error on the page (${runtimeName})`, async () => {
  using tmp = tempShm("watcher-missing");
  const listenStats = idle;
  {
    using watcher = new Watcher({ listeners: ["127.0.0.1:1"], stats: tmp.path, delay: 60, listenStats });
    const data = await (await watcher.fetch(new Request("http://127.0.0.1/series.json"))).json();
    assert.equal(data.workers.error, "no stats file yet");
    assert.equal(data.workers.workers, 0);
    const html = await (await watcher.fetch(new Request("http://127.0.0.1/"))).text();
    assert.ok(html.includes("no stats file yet"));
    assert.equal(existsSync(tmp.path), false, "the Watcher created no file");
    assert.equal(watcher.lastError, undefined, "the listeners' poll is unaffected");
  }
  writeFileSync(tmp.path, new Uint8Array(4096).fill(7));
  using watcher = new Watcher({ listeners: ["127.0.0.1:1"], stats: tmp.path, delay: 60, listenStats });
  const data = await (await watcher.fetch(new Request("http://127.0.0.1/series.json"))).json();
  assert.match(data.workers.error, /not a raindrops worker stats file/);
});

/** A figures source giving every named listener 0 and 0. */
function idle(names: readonly string[] | undefined) {
  return new Map((names ?? []).map((n) => [n, { active: 0, queued: 0 }]));
}

test("stats takes an open WorkerStats as well as a path: the Watcher reads that worker's file", async () => {
  using tmp = tempShm("watcher-open");
  using worker = WorkerStats.open(tmp.path);
  worker.incr(WorkerStats.CALLING, 2);
  using watcher = new Watcher({ listeners: ["127.0.0.1:1"], stats: worker, delay: 60, listenStats: idle });
  const data = (await (await watcher.fetch(new Request("http://127.0.0.1/series.json"))).json()).workers;
  assert.equal(data.path, tmp.path);
  assert.equal(data.error, null);
  assert.equal(data.workers, 1);
  assert.equal(data.calling, 2);
});
