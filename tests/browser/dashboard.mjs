// The dashboard in a real browser: node tests/browser/dashboard.mjs URL SCREENSHOT.
// Drives Debian's chromium headless through puppeteer-core (from the node_modules that
// PERFBPF_NODE_MODULES names: the build's `npm ci` of web/package-lock.json) against a
// running daemon, and checks what a person would see: the page loads without console
// errors, every host chart holds data, a new point arrives within 2 s, a click on a
// process row opens that process's charts, an incident (PERFBPF_INCIDENT_ID) and a tune
// change in the daemon's incidents.jsonl are drawn as annotations. Prints the first load time and the size of the
// server-sent messages; exits 1 on the first check that fails.
import { createRequire } from "node:module";
import path from "node:path";

const [url, screenshot] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error("usage: node dashboard.mjs URL SCREENSHOT.png");
  process.exit(2);
}
const modules = process.env.PERFBPF_NODE_MODULES || path.resolve("web/node_modules");
const puppeteer = createRequire(path.resolve(modules) + "/")("puppeteer-core");
const chromium = process.env.PERFBPF_CHROMIUM || "/usr/bin/chromium";

let failed = 0, passed = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  ok ? passed++ : failed++;
  return ok;
}

const args = ["--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"];
// Chromium refuses to run as root inside its own sandbox.
if (process.getuid && process.getuid() === 0) args.push("--no-sandbox");
const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args,
                                         defaultViewport: { width: 1400, height: 1200 } });
const errors = [];
try {
  const page = await browser.newPage();
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
  page.on("requestfailed", (r) => {
    // An event stream open when the page closes is cancelled: not an error of the page.
    if (!r.url().includes("/api/events")) errors.push(`request ${r.url()}: ${r.failure()?.errorText}`);
  });
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`${r.url()}: HTTP ${r.status()}`); });

  await page.goto(url, { waitUntil: "domcontentloaded", timeout: 10000 });
  await page.waitForFunction(() => window.perfbpf && window.perfbpf.readyMs != null, { timeout: 10000 });
  const loadMs = await page.evaluate(() => window.perfbpf.readyMs);
  const queriesMs = await page.evaluate(() => window.perfbpf.queriesMs);
  console.log(`first load: ${loadMs.toFixed(0)} ms from navigation to every host chart filled (of which the range queries ${queriesMs.toFixed(0)} ms)`);
  // The target is 1 s; on a shared 2-core host at load 8 it measured 0.7-1.1 s, so the
  // check fails only at three times the target, where something is clearly wrong.
  check(loadMs <= 3000, `first load within 3 s (target 1 s; ${loadMs.toFixed(0)} ms)`);

  // The history and the first message fill every chart.
  await page.waitForFunction(() => window.perfbpf.last != null, { timeout: 5000 });
  const lengths = await page.evaluate(() =>
    Object.fromEntries(Object.entries(window.perfbpf.charts).map(([id, c]) => [id, c.u.data[0].length])));
  check(Object.values(lengths).every((n) => n > 0), `every host chart holds data ${JSON.stringify(lengths)}`);

  const lastX = () => page.evaluate(() => { const d = window.perfbpf.charts.cpu.u.data[0]; return d[d.length - 1]; });
  const before = await lastX();
  const t0 = Date.now();
  let appeared = true;
  try {
    await page.waitForFunction((x) => { const d = window.perfbpf.charts.cpu.u.data[0]; return d[d.length - 1] > x; },
                               { timeout: 2000, polling: 20 }, before);
  } catch { appeared = false; }
  check(appeared, `a new point within 2 s (${appeared ? Date.now() - t0 + " ms" : "none"})`);

  const sizes = await page.evaluate(() => window.perfbpf.sseBytes);
  const largest = Math.max(...sizes);
  console.log(`event messages: ${sizes.length}, largest ${largest} bytes, last ${sizes[sizes.length - 1]} bytes`);
  check(largest <= 10240, `event messages at most 10 KB (${largest} bytes)`);

  // The row of PERFBPF_DRILL_PID (a process the test started before the daemon, so it has
  // history of its own), else the first: a browser started a moment ago tops the table
  // with a second of history, which says nothing about the drill-down.
  const pid = process.env.PERFBPF_DRILL_PID;
  const rowSel = pid ? `#processes tbody tr[data-key^="${pid}/"]` : "#processes tbody tr[data-key]";
  await page.waitForSelector(rowSel, { timeout: 10000 });
  const key = await page.$eval(rowSel, (tr) => tr.dataset.key);
  await page.click(`#processes tbody tr[data-key="${key}"]`);
  let drilled = true;
  try {
    await page.waitForFunction(() => {
      const d = window.perfbpf.drill;
      return d && d.loaded && !document.getElementById("drill").hidden && d.charts[0].u.data[0].length > 0;
    }, { timeout: 5000 });
  } catch { drilled = false; }
  const title = await page.$eval("#drill-title", (e) => e.textContent);
  check(drilled, `a click on process ${key} shows its charts ("${title}")`);

  // An incident and a tune change the test wrote into the daemon's incidents.jsonl
  // (PERFBPF_INCIDENT_ID names it) are annotations on the charts, beside the alerts.
  const incident = process.env.PERFBPF_INCIDENT_ID;
  if (incident) {
    let annotated = true;
    try {
      await page.waitForFunction((id) => {
        const a = window.perfbpf.annotations;
        return a.some((x) => x.kind === "incident" && x.text.includes(`incident ${id}`)) &&
               a.some((x) => x.kind === "tune");
      }, { timeout: 5000 }, incident);
    } catch { annotated = false; }
    const texts = await page.evaluate(() => window.perfbpf.annotations.map((a) => `${a.kind}: ${a.text}`));
    check(annotated, `incident ${incident} and a tune change are annotations (${JSON.stringify(texts)})`);
  }

  await new Promise((r) => setTimeout(r, 500));
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);
  check(errors.length === 0, `no console or request errors${errors.length ? ":\n  " + errors.join("\n  ") : ""}`);
} catch (e) {
  check(false, `${e.message}${errors.length ? "\n  " + errors.join("\n  ") : ""}`);
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
