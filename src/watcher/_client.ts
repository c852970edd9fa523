/**
 * The Watcher pages' own CSS and JavaScript, inlined into every page so
 * that nothing is loaded from anywhere else. The script fetches the
 * page's JSON series every `delay` seconds and redraws inline SVG charts:
 * active and queued (and the workers' calling and writing) over time, and
 * the histogram.
 *
 * Plain strings, not TypeScript: this code runs in the browser.
 *
 * @module
 */

/** The stylesheet of every page. */
export const CSS = `
:root { --active: #2563eb; --queued: #ea580c; --calling: #059669; --writing: #9333ea; --fg: #1f2933; --muted: #6b7785; --line: #d9dee4; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); margin: 1.5rem auto; max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.3rem; margin: 0 0 .25rem; word-break: break-all; }
h2 { font-size: 1rem; margin: 1.25rem 0 .5rem; }
a { color: var(--active); }
.muted { color: var(--muted); }
.status { color: var(--muted); margin: 0 0 1rem; }
.status.stale { color: #b91c1c; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { font-weight: 600; color: var(--muted); font-size: .85rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.addr { font-family: ui-monospace, monospace; word-break: break-all; }
tr.unlistened td.addr::after { content: " (nothing listens)"; color: #b91c1c; font-family: system-ui, sans-serif; }
td.active { color: var(--active); font-weight: 600; }
td.queued { color: var(--queued); font-weight: 600; }
td.calling { color: var(--calling); font-weight: 600; }
td.writing { color: var(--writing); font-weight: 600; }
.stale { color: #b91c1c; }
form.reset { display: inline; margin: 0; }
button { font: inherit; padding: .15rem .6rem; border: 1px solid var(--line); border-radius: 4px; background: #f6f7f9; cursor: pointer; }
button:hover { background: #e9ecf0; }
svg { display: block; overflow: visible; }
svg .axis { stroke: var(--line); stroke-width: 1; }
svg text { font: 11px ui-monospace, monospace; fill: var(--muted); }
svg .line { fill: none; stroke-width: 1.5; stroke-linejoin: round; }
svg .line.active { stroke: var(--active); }
svg .line.queued { stroke: var(--queued); }
svg .line.calling { stroke: var(--calling); }
svg .line.writing { stroke: var(--writing); stroke-dasharray: 5 3; }
svg .bar.active { fill: var(--active); }
svg .bar.queued { fill: var(--queued); }
.legend span { margin-right: 1rem; font-size: .85rem; }
.legend span::before { content: ""; display: inline-block; width: .8rem; height: .2rem; margin: 0 .3rem .2rem 0; }
.legend .active::before { background: var(--active); }
.legend .queued::before { background: var(--queued); }
.legend .calling::before { background: var(--calling); }
.legend .writing::before { background: repeating-linear-gradient(90deg, var(--writing) 0 5px, transparent 5px 8px); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: .5rem; margin: .5rem 0 1rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .4rem .6rem; }
.card .k { color: var(--muted); font-size: .75rem; }
.card .v { font-variant-numeric: tabular-nums; font-weight: 600; word-break: break-all; }
#timechart { max-width: 60rem; }
#histogram { max-width: 48rem; }
pre { background: #f6f7f9; padding: .75rem; overflow-x: auto; font-size: 12px; }
nav a { margin-right: .8rem; }
`;

/** The script of every page; it reads its settings from `<body data-*>`. */
export const SCRIPT = `
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var body = document.body;
  var page = body.getAttribute("data-page");
  var base = body.getAttribute("data-base");
  var delay = Math.max(100, Number(body.getAttribute("data-delay")) * 1000 || 1000);
  var status = document.getElementById("status");
  var failures = 0;
  // The index asks only for polls after the last one it has and keeps the
  // last INDEX_POINTS of each chart here, keyed by row; a reset starts a row over.
  var INDEX_POINTS = 120;
  var chartPoints = {}, since = 0;

  function remember(kept, key, reset, fresh) {
    var old = chartPoints[key];
    var points = old && old.reset === reset ? old.points : [];
    var last = points.length ? points[points.length - 1][0] : -Infinity;
    for (var i = 0; i < fresh.length; i++) if (fresh[i][0] > last) points.push(fresh[i]);
    if (points.length > INDEX_POINTS) points = points.slice(points.length - INDEX_POINTS);
    kept[key] = { reset: reset, points: points };
    return points;
  }

  function svgEl(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (parent) parent.appendChild(e);
    return e;
  }
  function htmlEl(name, attrs, text) {
    var e = document.createElement(name);
    for (var k in attrs || {}) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function enc(addr) { return encodeURIComponent(addr); }
  function fmt(x) {
    if (x === undefined || x === null) return "-";
    return Math.abs(x - Math.round(x)) < 1e-9 ? String(Math.round(x)) : x.toFixed(3);
  }
  function when(ms) { return ms ? new Date(ms).toISOString().replace(/\\.\\d{3}Z$/, "Z") : "-"; }

  // The series named in data-lines over time (points are [time, ...counts]
  // in that order): one polyline each, axes only when there is room.
  function timeChart(svg, points) {
    var names = svg.getAttribute("data-lines").split(" ");
    var w = Number(svg.getAttribute("data-w")), h = Number(svg.getAttribute("data-h"));
    var axes = svg.getAttribute("data-axes") === "1";
    var pad = axes ? { l: 40, r: 8, t: 8, b: 20 } : { l: 1, r: 1, t: 2, b: 2 };
    clear(svg);
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    var maxY = 1, i;
    for (i = 0; i < points.length; i++) {
      for (var n = 1; n <= names.length; n++) maxY = Math.max(maxY, points[i][n]);
    }
    var t0 = points.length ? points[0][0] : 0;
    var t1 = points.length ? points[points.length - 1][0] : 1;
    var span = Math.max(1, t1 - t0);
    function x(t) { return pad.l + ((t - t0) / span) * (w - pad.l - pad.r); }
    function y(v) { return h - pad.b - (v / maxY) * (h - pad.t - pad.b); }
    if (axes) {
      svgEl("line", { class: "axis", x1: pad.l, y1: y(0), x2: w - pad.r, y2: y(0) }, svg);
      svgEl("line", { class: "axis", x1: pad.l, y1: pad.t, x2: pad.l, y2: y(0) }, svg);
      svgEl("text", { x: pad.l - 4, y: pad.t + 8, "text-anchor": "end" }, svg).textContent = String(maxY);
      svgEl("text", { x: pad.l - 4, y: y(0), "text-anchor": "end" }, svg).textContent = "0";
      svgEl("text", { x: w - pad.r, y: h - 4, "text-anchor": "end" }, svg).textContent = "now";
      svgEl("text", { x: pad.l, y: h - 4 }, svg).textContent = points.length > 1 ? "-" + Math.round(span / 1000) + " s" : "";
    }
    var last = points.length ? points[points.length - 1] : null;
    for (var s = 0; s < names.length; s++) {
      var k = s + 1, coords = [];
      for (i = 0; i < points.length; i++) coords.push(x(points[i][0]).toFixed(1) + "," + y(points[i][k]).toFixed(1));
      if (coords.length === 1) coords.push((w - pad.r).toFixed(1) + "," + y(points[0][k]).toFixed(1));
      svgEl("polyline", { class: "line " + names[s], points: coords.join(" ") }, svg);
      svg.setAttribute("data-last-" + names[s], String(last ? last[k] : 0));
    }
    svg.setAttribute("data-points", String(points.length));
    svg.setAttribute("data-max", String(maxY));
  }

  // The histogram as horizontal bars, the same rows as the text chart.
  function histogram(svg, rows, kind) {
    var w = 600, rowH = 18, labelW = 150, countW = 70;
    var h = Math.max(1, rows.length) * rowH + 4;
    clear(svg);
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    var peak = 1, total = 0, i;
    for (i = 0; i < rows.length; i++) { peak = Math.max(peak, rows[i].count); total += rows[i].count; }
    for (i = 0; i < rows.length; i++) {
      var r = rows[i], y0 = i * rowH + 2;
      svgEl("text", { x: labelW - 6, y: y0 + 13, "text-anchor": "end" }, svg).textContent = r.label;
      var bw = r.count > 0 ? Math.max(1, (r.count / peak) * (w - labelW - countW)) : 0;
      svgEl("rect", { class: "bar " + kind, x: labelW, y: y0 + 2, width: bw.toFixed(1), height: rowH - 5 }, svg);
      svgEl("text", { x: labelW + bw + 6, y: y0 + 13 }, svg).textContent = String(r.count);
    }
    if (!rows.length) svgEl("text", { x: 0, y: 14 }, svg).textContent = "no samples";
    svg.setAttribute("data-total", String(total));
    svg.setAttribute("data-rows", String(rows.length));
  }

  // A table row: its key attribute, a name cell, one number cell per series and a sparkline.
  function sparkRow(key, value, label, lines) {
    var attrs = {};
    attrs[key] = value;
    var tr = htmlEl("tr", attrs);
    tr.appendChild(htmlEl("td", { class: "addr" }, label));
    for (var i = 0; i < lines.length; i++) tr.appendChild(htmlEl("td", { class: "num " + lines[i] }, "-"));
    var td = htmlEl("td");
    svgEl("svg", { class: "spark", width: 240, height: 36, "data-w": 240, "data-h": 36, "data-axes": 0,
      "data-lines": lines.join(" ") }, td);
    tr.appendChild(td);
    return tr;
  }

  function buildRow(addr) {
    var tr = sparkRow("data-addr", addr, addr, ["active", "queued"]);
    var links = htmlEl("td");
    var names = [["active/" + enc(addr) + ".html", "active"], ["queued/" + enc(addr) + ".html", "queued"],
      ["active/" + enc(addr) + ".txt", "txt"], ["tail/" + enc(addr) + ".txt", "tail"]];
    for (var i = 0; i < names.length; i++) {
      links.appendChild(htmlEl("a", { href: base + names[i][0] }, names[i][1]));
      links.appendChild(document.createTextNode(" "));
    }
    tr.appendChild(links);
    var cell = htmlEl("td");
    var form = htmlEl("form", { class: "reset", method: "post", action: base + "reset/" + enc(addr) });
    form.appendChild(htmlEl("button", { type: "submit" }, "reset"));
    cell.appendChild(form);
    tr.appendChild(cell);
    return tr;
  }

  // Brings the rows of tbody (keyed by the attribute key) in line with items:
  // new ones built by build(item), gone ones removed, every figure and chart redrawn.
  function syncRows(tbody, key, items, id, build, lines) {
    var rows = {}, seen = {}, i, tr;
    var existing = tbody.querySelectorAll("tr[" + key + "]");
    for (i = 0; i < existing.length; i++) rows[existing[i].getAttribute(key)] = existing[i];
    for (i = 0; i < items.length; i++) {
      var item = items[i], name = id(item);
      seen[name] = true;
      tr = rows[name];
      if (!tr) { tr = build(item); tbody.appendChild(tr); }
      tr.classList.toggle("unlistened", item.listening === false);
      for (var k = 0; k < lines.length; k++) tr.querySelector("td." + lines[k]).textContent = String(item[lines[k]]);
      timeChart(tr.querySelector("svg.spark"), item.points);
    }
    for (var n in rows) if (!seen[n]) tbody.removeChild(rows[n]);
  }

  function updateWorkers(w) {
    var items = [{ tid: "all", calling: w.calling, writing: w.writing, points: w.points }].concat(w.perWorker);
    syncRows(document.getElementById("workers"), "data-tid", items, function (x) { return String(x.tid); },
      function (x) { return sparkRow("data-tid", String(x.tid), x.tid === "all" ? "all workers" : "worker " + x.tid,
        ["calling", "writing"]); },
      ["calling", "writing"]);
    var st = document.getElementById("workers-status");
    st.textContent = w.workers + (w.workers === 1 ? " worker in " : " workers in ") + w.path + (w.error ? ": " + w.error : "");
    st.className = w.error ? "status stale" : "status";
    var more = document.getElementById("workers-omitted");
    more.hidden = !w.omitted;
    more.textContent = w.omitted + " more workers counted in the totals but not shown";
  }

  function updateIndex(data) {
    var kept = {}, i;
    for (i = 0; i < data.listeners.length; i++) {
      var l = data.listeners[i];
      l.points = remember(kept, "l " + l.addr, l.lastReset, l.points);
    }
    var w = data.workers;
    if (w) {
      w.points = remember(kept, "w all", 0, w.points);
      for (i = 0; i < w.perWorker.length; i++) {
        w.perWorker[i].points = remember(kept, "w " + w.perWorker[i].tid, 0, w.perWorker[i].points);
      }
    }
    chartPoints = kept;
    since = data.time;
    syncRows(document.getElementById("listeners"), "data-addr", data.listeners, function (l) { return l.addr; },
      function (l) { return buildRow(l.addr); }, ["active", "queued"]);
    var empty = document.getElementById("empty");
    if (empty) empty.hidden = data.listeners.length > 0;
    var omitted = document.getElementById("omitted");
    omitted.hidden = !data.omitted;
    omitted.textContent = data.omitted + " more listeners not shown (maxListeners " + data.maxListeners + ")";
    if (data.workers && document.getElementById("workers")) updateWorkers(data.workers);
  }

  function updateDetail(data) {
    var kind = body.getAttribute("data-kind");
    var agg = data[kind];
    var fields = document.querySelectorAll("[data-field]");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i].getAttribute("data-field"), v = agg[f];
      fields[i].textContent = /At$|Reset$/.test(f) ? when(f === "lastReset" ? data.lastReset : v) : fmt(v);
    }
    timeChart(document.getElementById("timechart"), data.points);
    histogram(document.getElementById("histogram"), agg.rows, kind);
    document.getElementById("chart").textContent = agg.chart;
  }

  function tick() {
    var url = page === "index"
      ? base + "series.json?points=" + INDEX_POINTS + "&since=" + since
      : body.getAttribute("data-series");
    fetch(url, { cache: "no-store" }).then(function (res) {
      if (res.status === 404) throw new Error("this listener is no longer watched");
      if (!res.ok) throw new Error("HTTP " + res.status);
      return res.json();
    }).then(function (data) {
      failures = 0;
      if (page === "index") updateIndex(data); else updateDetail(data);
      status.className = "status";
      status.textContent = "polled every " + data.delay + " s, last poll " + when(data.time);
      body.setAttribute("data-updates", String(Number(body.getAttribute("data-updates") || 0) + 1));
    }).catch(function (e) {
      failures++;
      status.className = "status stale";
      status.textContent = "not updating: " + e.message;
    }).then(function () {
      setTimeout(tick, Math.min(30000, delay * Math.pow(2, Math.min(failures, 5))));
    });
  }
  tick();
})();
`;
