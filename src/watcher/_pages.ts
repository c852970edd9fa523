/**
 * The Watcher's HTML pages. Every name goes through {@link escapeHtml};
 * styles and script are inline (see _client.ts), so a page needs nothing
 * but its own server.
 *
 * @module
 */
import { isoSeconds } from "../_iso_time.ts";
import { CSS, SCRIPT } from "./_client.ts";
import type { Kind, WatchedListener } from "./_watched_listener.ts";
import type { WatchedListeners } from "./_listeners.ts";
import type { WatchedWorkers } from "./_workers.ts";

/** Content-Security-Policy of every page: only inline code, data only from this server. */
export const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
  "img-src data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * Escapes text for HTML element content and quoted attribute values.
 *
 * @example
 * ```ts
 * escapeHtml(`<a href="x">`); // "&lt;a href=&quot;x&quot;&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch]);
}

/** A listener address as one URL path segment. */
export function encodeAddr(addr: string): string {
  return encodeURIComponent(addr);
}

/** A time on a page: ISO to the second, `-` for none (0). */
function shownTime(ms: number): string {
  return ms ? isoSeconds(ms) : "-";
}

function fmt(x: number | undefined): string {
  if (x === undefined) return "-";
  return Math.abs(x - Math.round(x)) < 1e-9 ? String(Math.round(x)) : x.toFixed(3);
}

function page(title: string, bodyAttrs: Record<string, string>, content: string): string {
  const attrs = Object.entries(bodyAttrs).map(([k, v]) => ` ${k}="${escapeHtml(v)}"`).join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body${attrs}>
${content}
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** An empty sparkline the page's script draws the named series in. */
function spark(series: string): string {
  return `<svg class="spark" width="240" height="36" data-w="240" data-h="36" data-axes="0" data-lines="${series}"></svg>`;
}

/** One row of the workers table: totals (`tid` "all") or one worker. */
function workerRow(tid: string, calling: number, writing: number): string {
  return `<tr data-tid="${tid}">
<td class="addr">${tid === "all" ? "all workers" : `worker ${tid}`}</td>
<td class="num calling">${calling}</td>
<td class="num writing">${writing}</td>
<td>${spark("calling writing")}</td>
</tr>`;
}

/** The workers of the middleware's stats file: totals, then one row per worker. */
function workersSection(w: WatchedWorkers): string {
  const rows = [workerRow("all", w.calling, w.writing)];
  for (const each of w.toJSON(0).perWorker) rows.push(workerRow(String(each.tid), each.calling, each.writing));
  return `<h2>Workers</h2>
<p class="status" id="workers-status">${w.workers} ${w.workers === 1 ? "worker" : "workers"} in <span class="addr">${
    escapeHtml(w.path)
  }</span>${w.error === undefined ? "" : `: <span class="stale">${escapeHtml(w.error)}</span>`}</p>
<p class="legend"><span class="calling">calling</span><span class="writing">writing</span></p>
<table>
<thead><tr><th>worker</th><th class="num">calling</th><th class="num">writing</th><th>over time</th></tr></thead>
<tbody id="workers">
${rows.join("\n")}
</tbody>
</table>
<p id="workers-omitted" class="muted"${
    w.omitted ? "" : " hidden"
  }>${w.omitted} more workers counted in the totals but not shown</p>
<h2>Listeners</h2>
`;
}

/** What the index shows besides the listeners. */
export interface IndexExtras {
  /** Why the last poll failed. */
  error?: string;
  /** Listeners found but not followed. */
  omitted: number;
  maxListeners: number;
  /** The workers of a middleware stats file, when the Watcher reads one. */
  workers?: WatchedWorkers;
}

/** Links, figures and reset button of one listener, as the index shows it. */
function indexRow(base: string, addr: string, st: WatchedListener): string {
  const a = escapeHtml(base + "active/" + encodeAddr(addr));
  const q = escapeHtml(base + "queued/" + encodeAddr(addr));
  const t = escapeHtml(base + "tail/" + encodeAddr(addr));
  const r = escapeHtml(base + "reset/" + encodeAddr(addr));
  return `<tr data-addr="${escapeHtml(addr)}"${st.listening ? "" : ' class="unlistened"'}>
<td class="addr">${escapeHtml(addr)}</td>
<td class="num active">${st.active.current}</td>
<td class="num queued">${st.queued.current}</td>
<td>${spark("active queued")}</td>
<td><a href="${a}.html">active</a> <a href="${q}.html">queued</a> <a href="${a}.txt">txt</a> <a href="${t}.txt">tail</a></td>
<td><form class="reset" method="post" action="${r}"><button type="submit">reset</button></form></td>
</tr>`;
}

/** The index: every listener in a table with a live sparkline of active and queued. */
export function indexPage(
  base: string,
  delay: number,
  listeners: WatchedListeners,
  time: number,
  extras: IndexExtras,
): string {
  const { error, omitted, maxListeners, workers } = extras;
  const rows = [...listeners.entries()].map(([addr, st]) => indexRow(base, addr, st)).join("\n");
  return page(
    "raindrops watcher",
    { "data-page": "index", "data-base": base, "data-delay": String(delay) },
    `
<h1>raindrops watcher</h1>
<p id="status" class="status">polled every ${delay} s, last poll ${shownTime(time)}</p>
${error === undefined ? "" : `<p class="status stale">last poll failed: ${escapeHtml(error)}</p>\n`}${
      workers ? workersSection(workers) : ""
    }<p class="legend"><span class="active">active</span><span class="queued">queued</span></p>
<table>
<thead><tr><th>address</th><th class="num">active</th><th class="num">queued</th><th>over time</th><th>details</th><th></th></tr></thead>
<tbody id="listeners">
${rows}
</tbody>
</table>
<p id="empty" class="muted"${listeners.size ? " hidden" : ""}>No listeners yet.</p>
<p id="omitted" class="muted" data-max="${maxListeners}"${
      omitted ? "" : " hidden"
    }>${omitted} more listeners not shown (maxListeners ${maxListeners})</p>
`,
  );
}

const CARDS: [string, string][] = [
  ["current", "current"],
  ["count", "count"],
  ["min", "min"],
  ["max", "max"],
  ["mean", "mean"],
  ["stddev", "std dev"],
  ["outliersLow", "outliers low"],
  ["outliersHigh", "outliers high"],
  ["firstPeakAt", "first peak at"],
  ["lastPeakAt", "last peak at"],
  ["lastReset", "last reset"],
];

/** A detail page: summary figures, live charts over time and of the histogram, the text chart. */
export function detailPage(base: string, delay: number, kind: Kind, addr: string, st: WatchedListener): string {
  const t = st.get(kind);
  const agg = t.aggregate;
  const other: Kind = kind === "active" ? "queued" : "active";
  const enc = encodeAddr(addr);
  const values: Record<string, string> = {
    current: String(t.current),
    count: String(agg.count),
    min: fmt(agg.min),
    max: fmt(agg.max),
    mean: fmt(agg.mean),
    stddev: fmt(agg.stddev),
    outliersLow: String(agg.outliersLow),
    outliersHigh: String(agg.outliersHigh),
    firstPeakAt: shownTime(t.firstPeakAt),
    lastPeakAt: shownTime(t.lastPeakAt),
    lastReset: shownTime(st.lastReset),
  };
  const cards = CARDS.map(([field, label]) =>
    `<div class="card"><div class="k">${label}</div><div class="v" data-field="${field}">${values[field]}</div></div>`
  ).join("\n");
  const attrs = {
    "data-page": "detail",
    "data-kind": kind,
    "data-base": base,
    "data-delay": String(delay),
    "data-series": `${base}series/${enc}.json`,
  };
  return page(
    `${kind} on ${addr}`,
    attrs,
    `
<nav><a href="${escapeHtml(base)}">all listeners</a><a href="${
      escapeHtml(`${base}${other}/${enc}.html`)
    }">${other}</a><a href="${escapeHtml(`${base}${kind}/${enc}.txt`)}">text</a><a href="${
      escapeHtml(`${base}tail/${enc}.txt`)
    }">tail</a></nav>
<h1>${kind} connections on <span class="addr">${escapeHtml(addr)}</span></h1>
<p id="status" class="status">polled every ${delay} s</p>
<div class="cards">
${cards}
</div>
<form class="reset" method="post" action="${
      escapeHtml(`${base}reset/${enc}`)
    }"><button type="submit">reset</button></form>
<h2>Over time</h2>
<p class="legend"><span class="active">active</span><span class="queued">queued</span></p>
<svg id="timechart" viewBox="0 0 800 220" width="100%" data-w="800" data-h="220" data-axes="1" data-lines="active queued"></svg>
<h2>Histogram of ${kind}</h2>
<svg id="histogram" viewBox="0 0 600 22" width="100%"></svg>
<h2>As text</h2>
<pre id="chart">${escapeHtml(agg.chart())}</pre>
`,
  );
}
