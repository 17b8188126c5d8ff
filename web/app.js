// The dashboard: host charts filled from /api/series for the chosen range and extended by
// /api/events every interval; verdicts and alerts; tables of the top objects, whose rows
// open that object's charts. Alerts, incidents and the daemon's tune changes ({ts, text, kind})
// are drawn on every chart as annotations.
"use strict";

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
const RANGES = { "15m": 15 * 60, "1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400 };
// Series of the host, not of one of its objects: names shared with processes, cgroups and
// namespaces are narrowed to the series without those labels (a missing label is "").
const HOST = 'pid="",comm="",cgroup="",netns=""';

// A chart: its lines, each read from a history selector (merged by `agg` when it matches
// several series, one per device) and from the live message.
const HOST_CHARTS = [
  { id: "cpu", title: "CPU (% of all CPUs)", unit: "%", lines: [
    { label: "busy", sel: "cpu_busy_pct", live: (n) => n.host.cpu.busy },
    { label: "user", sel: "cpu_user_pct", live: (n) => n.host.cpu.user },
    { label: "system", sel: "cpu_system_pct", live: (n) => n.host.cpu.system },
    { label: "iowait", sel: "cpu_iowait_pct", live: (n) => n.host.cpu.iowait },
  ] },
  { id: "mem", title: "Memory", unit: "B", lines: [
    { label: "available", sel: "mem_available_bytes", live: (n) => n.host.mem.available },
    { label: "free", sel: "mem_free_bytes", live: (n) => n.host.mem.free },
  ] },
  { id: "disklat", title: "Disk latency p99 (worst device)", unit: "us", lines: [
    { label: "p99", sel: 'lat_p99_us{device!=""}', agg: "max", live: (n) => n.host.disk.lat_p99_us },
  ] },
  { id: "diskio", title: "Disk throughput", unit: "B/s", lines: [
    { label: "read", sel: 'read_bytes{device!=""}', agg: "sum", live: (n) => n.host.disk.read_bps },
    { label: "write", sel: 'write_bytes{device!=""}', agg: "sum", live: (n) => n.host.disk.write_bps },
  ] },
  { id: "net", title: "TCP throughput", unit: "B/s", lines: [
    { label: "sent", sel: `tcp_tx_bytes{${HOST}}`, live: (n) => n.host.net.tx_bps },
    { label: "received", sel: `tcp_rx_bytes{${HOST}}`, live: (n) => n.host.net.rx_bps },
  ] },
  { id: "psi", title: "Pressure stall (some, % of time)", unit: "%", lines: [
    { label: "cpu", sel: 'psi_cpu_some_interval_pct{cgroup=""}', live: (n) => n.host.psi.cpu },
    { label: "memory", sel: 'psi_memory_some_interval_pct{cgroup=""}', live: (n) => n.host.psi.memory },
    { label: "io", sel: 'psi_io_some_interval_pct{cgroup=""}', live: (n) => n.host.psi.io },
  ] },
];

// What a drill-down shows for each kind of object: metric names of its series, and where
// the live message's table row has the same number.
const DRILL = {
  process: [
    { title: "CPU %", unit: "%", lines: [{ metric: "cpu_pct", live: (r) => r.cpu }] },
    { title: "Resident memory", unit: "B", lines: [{ metric: "rss_bytes", live: (r) => r.rss }] },
    { title: "Run-queue wait p99", unit: "us", lines: [{ metric: "runq_lat_p99_us", live: (r) => r.runq_p99_us }] },
    { title: "Block I/O", unit: "B/s", lines: [{ metric: "read_bytes" }, { metric: "write_bytes" }] },
  ],
  cgroup: [
    { title: "CPU %", unit: "%", lines: [{ metric: "cpu_pct", live: (r) => r.cpu }] },
    { title: "Resident memory", unit: "B", lines: [{ metric: "rss_bytes", live: (r) => r.rss }] },
    { title: "Pressure stall (some, %)", unit: "%", lines: [
      { metric: "psi_cpu_some_interval_pct", live: (r) => r.psi_cpu },
      { metric: "psi_memory_some_interval_pct", live: (r) => r.psi_mem },
      { metric: "psi_io_some_interval_pct", live: (r) => r.psi_io },
    ] },
    { title: "Block I/O", unit: "B/s", lines: [{ metric: "read_bytes" }, { metric: "write_bytes" }] },
  ],
  device: [
    { title: "Throughput", unit: "B/s", lines: [
      { metric: "read_bytes", live: (r) => r.read_bps },
      { metric: "write_bytes", live: (r) => r.write_bps },
    ] },
    { title: "Latency p99", unit: "us", lines: [{ metric: "lat_p99_us", live: (r) => r.lat_p99_us }] },
    { title: "Utilisation %", unit: "%", lines: [{ metric: "util_pct", live: (r) => r.util }] },
  ],
};

// What the browser test and a curious person can read: charts by id, message sizes, timing.
const state = {
  range: "15m",
  charts: {},
  drill: null, // {kind, row, key, charts: [...]}
  annotations: [], // [{ts (ms), text, kind: alert | incident | tune}]
  sseBytes: [],
  readyMs: null,
  last: null,
};
window.perfbpf = state;

const $ = (id) => document.getElementById(id);

function fmt(v, unit) {
  if (v == null || !isFinite(v)) return "–";
  const a = Math.abs(v);
  if (unit === "B" || unit === "B/s") {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return `${v.toFixed(i && Math.abs(v) < 10 ? 1 : 0)} ${units[i]}${unit === "B/s" ? "/s" : ""}`;
  }
  if (unit === "us") {
    if (a >= 1e6) return `${(v / 1e6).toFixed(2)} s`;
    if (a >= 1e3) return `${(v / 1e3).toFixed(1)} ms`;
    return `${v.toFixed(0)} µs`;
  }
  if (unit === "%") return `${v.toFixed(a < 10 ? 1 : 0)}%`;
  return a >= 100 ? v.toFixed(0) : v.toFixed(2);
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// ---- annotations ----------------------------------------------------------------------

function drawAnnotations(u) {
  const { min, max } = u.scales.x;
  if (min == null || !state.annotations.length) return;
  const ctx = u.ctx;
  const dpr = window.devicePixelRatio || 1;
  ctx.save();
  ctx.setLineDash([4 * dpr, 3 * dpr]);
  ctx.font = `${10 * dpr}px system-ui, sans-serif`;
  let textEnd = -Infinity; // a label only where the one before it left room
  for (const a of state.annotations) {
    const x = a.ts / 1000;
    if (x < min || x > max) continue;
    const cx = Math.round(u.valToPos(x, "x", true));
    const color = ANNOTATION_COLORS[a.kind] || ANNOTATION_COLORS.alert;
    ctx.strokeStyle = `rgba(${color},0.7)`;
    ctx.fillStyle = `rgba(${color},0.9)`;
    ctx.beginPath();
    ctx.moveTo(cx, u.bbox.top);
    ctx.lineTo(cx, u.bbox.top + u.bbox.height);
    ctx.stroke();
    if (cx < textEnd) continue;
    ctx.fillText(a.text, cx + 3 * dpr, u.bbox.top + 10 * dpr);
    textEnd = cx + 3 * dpr + ctx.measureText(a.text).width + 6 * dpr;
  }
  ctx.restore();
}

// Alerts red, incidents orange, the daemon's tune changes blue.
const ANNOTATION_COLORS = { alert: "192,57,43", incident: "211,84,0", tune: "41,128,185" };

// Replaces the annotations ({ts, text, kind}: alerts, incidents, tune changes) and redraws
// every chart.
function setAnnotations(list) {
  state.annotations = list.filter((a) => isFinite(a.ts)).sort((a, b) => a.ts - b.ts);
  for (const c of allCharts()) c.u.redraw(false);
}

function alertAnnotations(episodes) {
  const out = [];
  for (const e of [...episodes.active, ...episodes.past]) {
    const what = `${e.alert} ${e.severity}`;
    out.push({ ts: Date.parse(e.start), text: `▲ ${what}`, kind: "alert" });
    if (e.end) out.push({ ts: Date.parse(e.end), text: `▽ ${what} resolved`, kind: "alert" });
  }
  return out;
}

// /api/incidents: incidents where they opened (and closed), tune changes where they were
// made or judged.
function incidentAnnotations(found) {
  const out = [];
  for (const i of found.incidents) {
    const what = `incident ${i.id} [${i.resource}]`;
    out.push({ ts: i.start_ms, text: `◆ ${what}`, kind: "incident", title: i.summary });
    if (!i.open) out.push({ ts: i.end_ms, text: `◇ ${what} closed`, kind: "incident" });
  }
  for (const t of found.tune)
    out.push({ ts: t.ts, text: `⚙ ${t.tuner} ${t.knob} ${t.from}→${t.to} ${t.change}`, kind: "tune" });
  return out;
}

// ---- charts ---------------------------------------------------------------------------

function makeChart(parent, title, unit, labels) {
  const box = el("div", { class: "chart" }, el("h3", {}, title));
  parent.append(box);
  const width = Math.max(300, box.clientWidth - 8);
  const opts = {
    width,
    height: 160,
    series: [{}, ...labels.map((label, i) => ({
      label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false,
      value: (u, v) => fmt(v, unit),
    }))],
    axes: [{}, { size: 70, values: (u, vals) => vals.map((v) => fmt(v, unit)) }],
    // Every chart shows the chosen window ending at its newest point, so charts line up
    // and one live point is not stretched over years.
    scales: { x: { time: true, range: (u) => {
      const xs = u.data[0];
      const end = xs.length ? xs[xs.length - 1] : Date.now() / 1000;
      return [end - RANGES[state.range], end];
    } } },
    hooks: { draw: [drawAnnotations] },
  };
  const data = [[], ...labels.map(() => [])];
  const u = new uPlot(opts, data, box);
  return { u, data, box, unit };
}

// Series points [[ts_ms, v], ...] of several lines onto one x axis (seconds); a line that
// matched several series is merged per timestamp with `agg`.
function align(lines, stepMs) {
  const xs = new Set();
  const maps = lines.map(({ series, agg }) => {
    const m = new Map();
    for (const s of series)
      for (const [ts, v] of s.points) {
        xs.add(ts);
        const prev = m.get(ts);
        m.set(ts, prev == null ? v : agg === "sum" ? prev + v : Math.max(prev, v));
      }
    return m;
  });
  const xsSorted = [...xs].sort((a, b) => a - b);
  // Where the daemon was not running, a null between the points breaks the line rather
  // than drawing a straight one across the gap.
  const withGaps = [];
  for (const t of xsSorted) {
    const prev = withGaps[withGaps.length - 1];
    if (prev != null && t - prev > 3 * stepMs) withGaps.push(prev + stepMs);
    withGaps.push(t);
  }
  return [withGaps.map((t) => t / 1000), ...maps.map((m) => withGaps.map((t) => m.get(t) ?? null))];
}

function setData(c, data) {
  c.data = data;
  c.u.setData(data);
}

// One point per line at x (seconds), dropping what fell out of the window.
function appendPoint(c, x, values) {
  const d = c.data;
  if (d[0].length && x <= d[0][d[0].length - 1]) return;
  d[0].push(x);
  values.forEach((v, i) => d[i + 1].push(v == null ? null : v));
  const from = x - RANGES[state.range];
  let cut = 0;
  while (cut < d[0].length && d[0][cut] < from) cut++;
  if (cut) for (const a of d) a.splice(0, cut);
  c.u.setData(d);
}

function* allCharts() {
  yield* Object.values(state.charts);
  if (state.drill) yield* state.drill.charts;
}

async function getJSON(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${(await r.text()).trim()}`);
  return r.json();
}

function seriesURL(selector) {
  return `api/series?selector=${encodeURIComponent(selector)}&from=-${state.range}`;
}

async function loadHostCharts() {
  const jobs = HOST_CHARTS.map(async (def) => {
    let step = 1000;
    const lines = await Promise.all(def.lines.map(async (l) => {
      const res = await getJSON(seriesURL(l.sel));
      step = res.step_ms;
      return { series: res.series, agg: l.agg };
    }));
    setData(state.charts[def.id], align(lines, step));
  });
  await Promise.all(jobs);
}

// ---- drill-down -----------------------------------------------------------------------

// A label matcher for a value the live message may have cut ("..." + its end).
function matcher(name, value) {
  const quote = (s) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  if (!value.startsWith("...")) return `${name}="${quote(value)}"`;
  const re = value.slice(3).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return `${name}=~"${quote(".*" + re)}"`;
}

function drillSelector(kind, row) {
  if (kind === "process") return `{pid="${row.pid}",start="${row.start}"}`;
  if (kind === "cgroup") return `{${matcher("cgroup", row.cgroup)},pid=""}`;
  return `{${matcher("device", row.device)}}`;
}

function rowKey(kind, row) {
  return kind === "process" ? `${row.pid}/${row.start}` : kind === "cgroup" ? row.cgroup : row.device;
}

async function openDrill(kind, row) {
  const title = kind === "process" ? `${row.comm} (pid ${row.pid})` : `${kind} ${kind === "cgroup" ? row.cgroup : row.device}`;
  $("drill-title").textContent = title;
  const box = $("drill-charts");
  box.replaceChildren();
  $("drill").hidden = false;
  const charts = DRILL[kind].map((def) => {
    const c = makeChart(box, def.title, def.unit, def.lines.map((l) => l.metric));
    c.def = def;
    return c;
  });
  state.drill = { kind, row, key: rowKey(kind, row), charts, loaded: false };
  await loadDrill();
  $("drill").scrollIntoView({ block: "nearest" });
}

async function loadDrill() {
  const d = state.drill;
  if (!d) return;
  const res = await getJSON(seriesURL(drillSelector(d.kind, d.row)));
  for (const c of d.charts)
    setData(c, align(c.def.lines.map((l) => ({ series: res.series.filter((s) => s.metric === l.metric), agg: "sum" })), res.step_ms));
  const note = res.series.length ? "" : " — no history (not among the daemon's top processes)";
  $("drill-note").textContent = note;
  d.loaded = true;
}

function closeDrill() {
  if (state.drill) for (const c of state.drill.charts) c.u.destroy();
  state.drill = null;
  $("drill").hidden = true;
}

// ---- live -----------------------------------------------------------------------------

function renderStatus(now) {
  const v = $("verdicts");
  v.replaceChildren(el("h2", {}, "Verdicts"));
  for (const x of now.verdicts)
    v.append(el("div", { class: `item ${x.severity}` }, `${x.resource}: ${x.severity}`,
      x.evidence ? el("span", { class: "muted" }, ` — ${x.evidence}`) : ""));
  const a = $("alerts");
  a.replaceChildren(el("h2", {}, `Alerts firing (${now.alerts.length + now.more_alerts})`));
  if (!now.alerts.length) a.append(el("div", { class: "item ok muted" }, "none"));
  for (const x of now.alerts) {
    const labels = Object.entries(x.labels).map(([k, v]) => `${k}=${v}`).join(" ");
    a.append(el("div", { class: `item ${x.severity}` }, `${x.alert} ${labels} `,
      el("span", { class: "muted" }, `since ${new Date(x.since).toLocaleTimeString()}`)));
  }
  const h = now.host;
  $("host-line").textContent = `${h.ncpus} CPUs · load ${h.load.join(" ")} · ` +
    `interval ${now.interval_s} s · ${new Date(now.ts).toLocaleTimeString()}`;
}

const TABLES = {
  processes: { kind: "process", cols: [["comm", "", (r) => r.comm], ["pid", "", (r) => r.pid], ["CPU", "%", (r) => r.cpu],
    ["RSS", "B", (r) => r.rss], ["I/O", "B/s", (r) => r.io_bps], ["runq p99", "us", (r) => r.runq_p99_us]] },
  cgroups: { kind: "cgroup", cols: [["cgroup", "", (r) => r.cgroup], ["CPU", "%", (r) => r.cpu], ["RSS", "B", (r) => r.rss],
    ["I/O", "B/s", (r) => r.io_bps], ["psi cpu", "%", (r) => r.psi_cpu], ["psi mem", "%", (r) => r.psi_mem], ["psi io", "%", (r) => r.psi_io]] },
  devices: { kind: "device", cols: [["device", "", (r) => r.device], ["read", "B/s", (r) => r.read_bps],
    ["write", "B/s", (r) => r.write_bps], ["p99", "us", (r) => r.lat_p99_us], ["util", "%", (r) => r.util]] },
};

function renderTables(now) {
  for (const [id, t] of Object.entries(TABLES)) {
    const table = $(id);
    const head = el("tr", {}, ...t.cols.map(([name]) => el("th", {}, name)));
    const body = el("tbody");
    for (const row of now[id]) {
      const tr = el("tr", { title: "show its charts", onclick: () => openDrill(t.kind, row) },
        ...t.cols.map(([, unit, get]) => el("td", unit ? {} : { title: String(get(row)) }, unit ? fmt(get(row), unit) : get(row))));
      tr.dataset.key = rowKey(t.kind, row);
      body.append(tr);
    }
    if (!now[id].length) body.append(el("tr", {}, el("td", { class: "muted", colspan: t.cols.length }, "none seen")));
    table.replaceChildren(el("thead", {}, head), body);
  }
}

function onMessage(now) {
  state.last = now;
  const x = now.ts / 1000;
  for (const def of HOST_CHARTS) appendPoint(state.charts[def.id], x, def.lines.map((l) => l.live(now)));
  const d = state.drill;
  if (d && d.loaded) {
    const table = { process: "processes", cgroup: "cgroups", device: "devices" }[d.kind];
    const row = now[table].find((r) => rowKey(d.kind, r) === d.key);
    if (row)
      for (const c of d.charts) appendPoint(c, x, c.def.lines.map((l) => (l.live ? l.live(row) : null)));
  }
  renderStatus(now);
  renderTables(now);
}

function connect() {
  const conn = $("conn");
  const es = new EventSource("api/events");
  es.onopen = () => { conn.textContent = "live"; conn.className = "conn live"; };
  es.onerror = () => { conn.textContent = "reconnecting"; conn.className = "conn"; };
  es.onmessage = (e) => {
    state.sseBytes.push(e.data.length);
    if (state.sseBytes.length > 100) state.sseBytes.shift();
    onMessage(JSON.parse(e.data));
  };
}

async function loadAnnotations() {
  try {
    const [episodes, found] = await Promise.all([
      getJSON(`api/alerts?since=-${state.range}`),
      getJSON(`api/incidents?from=-${state.range}`),
    ]);
    setAnnotations([...alertAnnotations(episodes), ...incidentAnnotations(found)]);
  } catch (e) {
    console.warn(e.message);
  }
}

async function selectRange(range) {
  state.range = range;
  for (const b of document.querySelectorAll("#ranges button"))
    b.classList.toggle("active", b.dataset.range === range);
  try {
    await Promise.all([loadHostCharts(), loadDrill(), loadAnnotations()]);
  } catch (e) {
    $("conn").textContent = e.message;
  }
}

async function main() {
  const box = $("charts");
  for (const def of HOST_CHARTS) state.charts[def.id] = makeChart(box, def.title, def.unit, def.lines.map((l) => l.label));
  for (const b of document.querySelectorAll("#ranges button")) b.addEventListener("click", () => selectRange(b.dataset.range));
  $("drill-close").addEventListener("click", closeDrill);
  window.addEventListener("resize", () => {
    for (const c of allCharts()) c.u.setSize({ width: Math.max(300, c.box.clientWidth - 8), height: 160 });
  });
  const t0 = performance.now();
  await selectRange(state.range);
  state.readyMs = performance.now();
  state.queriesMs = state.readyMs - t0;
  connect();
  setInterval(loadAnnotations, 30000);
}

main();
