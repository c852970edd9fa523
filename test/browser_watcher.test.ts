// deno-lint-ignore-file no-explicit-any
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import type net from "node:net";
import { Watcher } from "../src/watcher/watcher.ts";
import { closeAll, connect, HeldListener } from "./fixtures/linux_sockets.ts";
import { runtimeName, serve, watchedWorkers } from "./fixtures/watcher_servers.ts";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const OUTPUT = new URL("../test-output/", import.meta.url).pathname;
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** playwright-core, or why it cannot be used here. */
async function loadPlaywright(): Promise<{ chromium: any } | string> {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`;
  try {
    const specifier = "playwright-core";
    return await import(specifier);
  } catch (e) {
    return `playwright-core is not installed (${(e as Error).message.split("\n")[0]})`;
  }
}

const playwright = await loadPlaywright();
const skip = typeof playwright === "string" ? playwright : false;

/** A headless Chromium with a throwaway profile; closing it removes the profile. */
async function browser() {
  const { chromium } = playwright as { chromium: any };
  mkdirSync(OUTPUT, { recursive: true });
  const profile = mkdtempSync("/tmp/raindrops-chromium-");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1100, height: 900 },
    timeout: 30_000,
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(15_000);
  const requests: string[] = [];
  const problems: string[] = [];
  page.on("request", (r: any) => requests.push(r.url()));
  page.on("console", (m: any) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e: Error) => problems.push(e.message));
  return {
    page,
    requests,
    problems,
    async [Symbol.asyncDispose]() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

test(`the dashboard in headless Chromium draws live charts, follows queued connections and resets (${runtimeName})`, {
  skip,
  timeout: 90_000,
}, async () => {
  await using held = await HeldListener.start(["tcp", "127.0.0.1"]);
  const addr = `127.0.0.1:${held.port}`, enc = encodeURIComponent(addr);
  using watcher = new Watcher({ listeners: [addr], delay: 0.2 });
  await using server = await serve(watcher.app);
  const clients: net.Socket[] = [];
  await using b = await browser();
  const { page, requests, problems } = b;
  try {
    // The index: a row per listener whose sparkline the page draws itself.
    await page.goto(`${server.origin}/`);
    await page.waitForFunction(() => Number((globalThis as any).document.body.dataset.updates) >= 2);
    const row = `tr[data-addr="${addr}"]`;
    assert.equal(await page.locator(`${row} td.addr`).textContent(), addr);
    assert.equal(await page.locator(`${row} svg.spark polyline`).count(), 2, "active and queued lines");
    // Each update brings only the polls since the last one; the chart keeps the earlier ones.
    await page.waitForFunction(
      (sel: string) => Number((globalThis as any).document.querySelector(sel)?.dataset.points) >= 6,
      `${row} svg.spark`,
    );
    await page.screenshot({ path: `${OUTPUT}watcher-index.png`, fullPage: true });

    // The queued page: the chart and histogram follow connections as they queue.
    await page.goto(`${server.origin}/queued/${enc}.html`);
    await page.waitForFunction(() => Number((globalThis as any).document.body.dataset.updates) >= 1);
    assert.equal(await page.locator("#timechart").getAttribute("data-last-queued"), "0");
    for (let i = 0; i < 3; i++) clients.push(await connect({ host: "127.0.0.1", port: held.port }));
    await page.waitForFunction(() =>
      (globalThis as any).document.getElementById("timechart").dataset.lastQueued === "3"
    );
    await page.waitForFunction(() =>
      (globalThis as any).document.querySelector('[data-field="current"]').textContent === "3"
    );
    const labels = await page.locator("#histogram text").allTextContents();
    assert.ok(labels.includes("[2, 4)"), `histogram rows: ${labels.join(" | ")}`);
    assert.ok(Number(await page.locator("#timechart").getAttribute("data-max")) >= 3);
    // Let a few more polls in so the reset below visibly drops the count.
    await page.waitForFunction(() =>
      Number((globalThis as any).document.querySelector('[data-field="count"]').textContent) >= 8
    );
    await page.screenshot({ path: `${OUTPUT}watcher-queued.png`, fullPage: true });
    const lastResetBefore = await page.locator('[data-field="lastReset"]').textContent();

    // Reset: the form posts, the Watcher redirects back here, the figures start over.
    await page.waitForTimeout(1100); // the reset time is shown to the second
    const pointsBefore = Number(await page.locator("#timechart").getAttribute("data-points"));
    await Promise.all([page.waitForURL(`${server.origin}/queued/${enc}.html`), page.click("form.reset button")]);
    const countAfter = Number(await page.locator('[data-field="count"]').textContent());
    assert.ok(countAfter < 8, `count after reset: ${countAfter}`);
    assert.notEqual(await page.locator('[data-field="lastReset"]').textContent(), lastResetBefore);
    await page.waitForFunction(() =>
      (globalThis as any).document.getElementById("timechart").dataset.lastQueued === "3"
    );
    const pointsAfter = Number(await page.locator("#timechart").getAttribute("data-points"));
    assert.ok(pointsAfter < pointsBefore, `the chart starts over: ${pointsBefore} points, then ${pointsAfter}`);
    await page.screenshot({ path: `${OUTPUT}watcher-after-reset.png`, fullPage: true });

    // Back on the index, the sparkline shows the queued connections too.
    await page.goto(`${server.origin}/`);
    await page.waitForFunction(
      (sel: string) => (globalThis as any).document.querySelector(sel)?.getAttribute("data-last-queued") === "3",
      `${row} svg.spark`,
    );
    assert.equal(await page.locator(`${row} td.queued`).textContent(), "3");
    await page.screenshot({ path: `${OUTPUT}watcher-index-queued.png`, fullPage: true });

    const foreign = requests.filter((u) => !u.startsWith(server.origin) && !u.startsWith("data:"));
    assert.deepEqual(foreign, [], "every request goes to the Watcher itself");
    assert.deepEqual(problems, [], "no script error or CSP violation");
  } finally {
    await closeAll(clients);
  }
});

test(
  `the index shows the workers of a middleware stats file, in total and per worker, with live charts (${runtimeName})`,
  {
    skip,
    timeout: 90_000,
  },
  async () => {
    await using w = await watchedWorkers("browser-workers", 0.2);
    const { workers, holds, server } = w;
    {
      await using b = await browser();
      const { page, requests, problems } = b;
      await page.goto(`${server.origin}/`);
      await page.waitForFunction(() => Number((globalThis as any).document.body.dataset.updates) >= 2);
      const all = 'tr[data-tid="all"]';
      assert.equal(await page.locator(`${all} td.addr`).textContent(), "all workers");
      for (const { tid } of workers) {
        assert.equal(await page.locator(`tr[data-tid="${tid}"] td.addr`).textContent(), `worker ${tid}`);
      }

      // Requests held in the workers show up in the figures and the charts.
      holds.calling(workers[0].port);
      holds.calling(workers[0].port);
      holds.calling(workers[1].port);
      await holds.writing(workers[1].port);
      await page.waitForFunction((sel: string) => {
        const svg = (globalThis as any).document.querySelector(sel);
        return svg?.dataset.lastCalling === "3" && svg?.dataset.lastWriting === "1";
      }, `${all} svg.spark`);
      assert.equal(await page.locator(`${all} td.calling`).textContent(), "3");
      assert.equal(await page.locator(`${all} td.writing`).textContent(), "1");
      assert.equal(await page.locator(`tr[data-tid="${workers[0].tid}"] td.calling`).textContent(), "2");
      assert.equal(await page.locator(`tr[data-tid="${workers[1].tid}"] td.writing`).textContent(), "1");
      assert.equal(await page.locator(`${all} svg.spark polyline`).count(), 2, "calling and writing lines");
      assert.match(await page.locator("#workers-status").textContent(), /^2 workers in /);
      // Each listener row says what serves it; every chart shows its scale and unit.
      const first = `tr[data-addr="127.0.0.1:${workers[0].port}"]`;
      assert.equal(await page.locator(`${first} td.addr .label`).textContent(), "middleware worker 1");
      assert.ok(await page.locator(`${first} td.addr .label`).isVisible());
      assert.deepEqual(await page.locator(`${all} svg.spark text`).allTextContents(), ["3", "0"], "scale: top and 0");
      const heads = await page.locator("th").allTextContents();
      assert.ok(heads.includes("requests, last 24 s") && heads.includes("connections, last 24 s"), heads.join(" | "));
      // Let the charts show a few polls at this level before the picture.
      await page.waitForTimeout(1500);
      await page.screenshot({ path: `${OUTPUT}watcher-workers.png`, fullPage: true });

      // Released, the figures fall back; a killed worker's row goes.
      holds.release();
      await workers[1].kill("SIGKILL");
      await page.waitForFunction(
        (sel: string) => (globalThis as any).document.querySelector(sel)?.dataset.lastCalling === "0",
        `${all} svg.spark`,
      );
      await page.waitForFunction(
        (tid: number) => !(globalThis as any).document.querySelector(`tr[data-tid="${tid}"]`),
        workers[1].tid,
      );
      assert.match(await page.locator("#workers-status").textContent(), /^1 worker in /);
      await page.screenshot({ path: `${OUTPUT}watcher-workers-after.png`, fullPage: true });

      const foreign = requests.filter((u) => !u.startsWith(server.origin) && !u.startsWith("data:"));
      assert.deepEqual(foreign, [], "every request goes to the Watcher itself");
      assert.deepEqual(problems, [], "no script error or CSP violation");
    }
  },
);
