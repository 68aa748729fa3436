// `now vis` end to end: the demo project served by its daemon, driven in a real headless
// Chromium (Debian's, through playwright-core; no browser download). Screenshots of each
// view go to test-output/vis/ for a person to look at.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "fs";
import http from "http";
import net from "net";
import os from "os";
import path from "path";
import { spawnSync } from "child_process";
import { chromium, type Browser, type Page } from "playwright-core";
import { now, REPO, requireTool, tempProject, waitFor, writeFiles } from "./helpers";
import { activationGraph } from "../server/src/vis/activationGraph";
import { sideBySide } from "../server/src/vis/api";
import { admit, sameToken } from "../server/src/vis/security";
import type { ActivationRow } from "../server/src/store/queries";

// Callbacks run in the page, where these exist (the test compiles without the DOM library).
declare const document: { querySelector(s: string): { getAttribute(n: string): string | null } | null };
declare const window: Record<string, unknown>;

const OUT = path.join(REPO, "test-output", "vis");
const CHROMIUM = process.env.NOW_TEST_CHROMIUM || "/usr/bin/chromium";
const hasChromium = spawnSync("sh", ["-c", "command -v chromium"]).status === 0 || fs.existsSync(CHROMIUM);

/** A raw GET with chosen headers (fetch would not let us lie about Host). */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
  });
}

describe("now vis", () => {
  let dir = "";
  let url = "";
  let browser: Browser | null = null;
  let page: Page;
  const problems: string[] = [];
  const shot = (name: string) => page.screenshot({ path: path.join(OUT, `${name}.png`) });

  before(async () => {
    dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "nowls-vis-")), "demo");
    const demo = now(["demo", dir], { cwd: os.tmpdir() });
    assert.equal(demo.status, 0, demo.stderr);
    // Trial 3: more than 5 000 activations, every one recorded (--calls-keep 0).
    fs.copyFileSync(path.join(REPO, "test", "fixtures", "vis", "many_calls.py"), path.join(dir, "many_calls.py"));
    const big = now(["run", "--calls-keep", "0", "many_calls.py"], { cwd: dir });
    assert.equal(big.status, 0, big.stderr);
    const r = now(["vis"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    url = r.stdout.trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{20,}\/$/);
    fs.mkdirSync(OUT, { recursive: true });
    if (hasChromium) {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
          "--disable-component-update", "--disable-sync"],
      });
      page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      page.setDefaultTimeout(10000);
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      // A Content-Security-Policy violation is logged as a console error.
      page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()} ${m.location().url}`); });
    }
  });

  after(async () => {
    await browser?.close();
    if (dir) now(["daemon", "stop"], { cwd: dir });
  });

  it("refuses a request without the token, with a wrong token, a foreign Host or a foreign Origin", async () => {
    const u = new URL(url);
    const token = u.pathname.split("/")[1];
    const base = `http://127.0.0.1:${u.port}`;
    const ok = await get(url);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers["x-content-type-options"], "nosniff");
    assert.equal(ok.headers["referrer-policy"], "no-referrer");
    assert.match(String(ok.headers["content-security-policy"]), /default-src 'none'/);
    for (const [what, target, headers] of [
      ["no token", `${base}/`, {}],
      ["no token, API", `${base}/api/trials`, {}],
      ["wrong token", `${base}/${token.slice(0, -1)}${token.endsWith("x") ? "y" : "x"}/api/trials`, {}], // its last character changed
      ["token prefix", `${base}/${token.slice(0, 10)}/`, {}],
      ["foreign Host (DNS rebinding)", `${url}api/trials`, { Host: `evil.example:${u.port}` }],
      ["foreign Origin", `${url}api/trials`, { Origin: "http://evil.example" }],
      ["foreign Origin on the event stream", `${url}api/events`, { Origin: `http://127.0.0.1:${Number(u.port) + 1}` }],
    ] as [string, string, Record<string, string>][]) {
      const r = await get(target, headers);
      assert.equal(r.status, 403, what);
      assert.doesNotMatch(r.body, /trial|experiment/, what);
    }
    assert.equal((await get(`${url}api/trials`, { Origin: `http://127.0.0.1:${u.port}` })).status, 200);
    assert.equal((await get(`${url}api/trials`, { Host: `localhost:${u.port}` })).status, 200);
    // The API: a bad trial is a 400 with one line; the 5 000-activation trial's dataflow is folded.
    const bad = await get(`${url}api/trial/99`);
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).error, /^no trial 99 \(trials are 1 to 3\)$/);
    const flow = JSON.parse((await get(`${url}api/trial/3/dataflow`)).body);
    assert.ok(flow.nodes <= 300 && flow.total >= 5000, `${flow.nodes} of ${flow.total}`);
    assert.equal((await get(`${url}../../etc/passwd`)).status, 403);
    assert.equal((await get(`${url}..%2f..%2fpackage.json`)).status, 404);
    // The same daemon answers the same address again.
    assert.equal(now(["vis"], { cwd: dir }).stdout.trim(), url);
  });

  it("shows the history; a click selects a trial and shows its summary", async (t) => {
    if (!requireTool(t, "chromium")) return;
    await page.goto(url);
    await page.waitForSelector("body[data-ready=true]");
    await page.waitForSelector('#history g.node[data-key="t1"]');
    assert.equal(await page.locator("#history g.node").count(), 3);
    await page.click('#history g.node[data-key="t1"]');
    await page.waitForSelector('#view[data-view=summary][data-ready=true]');
    const text = await page.locator("#view").innerText();
    assert.match(text, /now run experiment\.py 2013 2014/);
    assert.match(text, /data\/p2013\.dat/);
    assert.match(text, /precipitation/);
    assert.equal(await page.locator('#history g.node.selected').getAttribute("data-key"), "t1");
    await shot("1-summary");
  });

  it("renders the selected trial's activation graph with Graphviz", async (t) => {
    if (!requireTool(t, "chromium")) return;
    await page.click('#tabs button[data-view=activations]');
    await page.waitForSelector("#act-graph svg g.node");
    const keys = await page.locator("#act-graph g.node").evaluateAll((gs) => gs.map((g) => g.getAttribute("data-key")));
    assert.ok(keys.includes("a1"), keys.join(" "));
    assert.ok(await page.locator("#act-graph g.node text", { hasText: "sum_by_month" }).count() >= 1);
    assert.ok(await page.locator("#act-graph g.edge").count() >= keys.length - 2);
    await shot("2-activations");
  });

  it("shows a trial of 5 000 activations collapsed, and expands a node on a click", async (t) => {
    if (!requireTool(t, "chromium")) return;
    await page.click('#history g.node[data-key="t3"]');
    await page.waitForSelector('#view[data-view=activations][data-ready=true]');
    const note = await page.locator("#act-note").innerText();
    const total = Number(/for (\d+) activations/.exec(note)?.[1]);
    assert.ok(total >= 5000, note);
    const before = Number(await page.locator("#act-graph").getAttribute("data-nodes"));
    assert.ok(before > 3 && before <= 80, `${before} nodes shown`);
    assert.ok(await page.locator("#act-graph g.node text", { hasText: /×\d+/ }).count() >= 1, "loops summarised");
    await shot("3-activations-5000-collapsed");
    // A loop of calls whose content is hidden: a click shows the calls.
    const group = page.locator("#act-graph g.node.group:not(.expanded)").first();
    const key = await group.getAttribute("data-key");
    const started = Date.now();
    await group.click();
    await page.waitForFunction((n) => Number(document.querySelector("#act-graph")?.getAttribute("data-nodes")) > n, before);
    assert.ok(Date.now() - started < 5000, `expanding took ${Date.now() - started} ms`);
    assert.equal(await page.locator(`#act-graph g.node[data-key="${key}"]`).getAttribute("class").then((c) => /expanded/.test(c ?? "")), true);
    await shot("4-activations-5000-expanded");
  });

  it("hears of a trial that ends while the page is open, without a reload", async (t) => {
    if (!requireTool(t, "chromium")) return;
    const marker = await page.evaluate(() => (window.marker = Math.random()));
    const r = now(["run", "--fine", "experiment.py", "2014", "2015"], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    await page.waitForSelector('#history g.node[data-key="t4"]', { timeout: 10000 });
    assert.equal(await page.evaluate(() => window.marker), marker, "no reload");
    assert.match(await page.locator("#toast").innerText(), /trial 4 finished/);
    // Changes the daemon does not run itself (a tag here) are seen by its poll of the store.
    assert.equal(now(["tag", "1", "baseline"], { cwd: dir }).status, 0);
    await page.waitForSelector('#history g.node[data-key="t1"] text:has-text("baseline")', { timeout: 5000 });
  });

  it("shows the dataflow graph and slices from a chosen file and value", async (t) => {
    if (!requireTool(t, "chromium")) return;
    await page.click('#history g.node[data-key="t4"]');
    await page.click('#tabs button[data-view=dataflow]');
    await page.waitForSelector('#view[data-view=dataflow][data-ready=true]');
    await page.waitForSelector("#flow-graph svg g.node");
    const whole = Number(await page.locator("#flow-graph").getAttribute("data-nodes"));
    await shot("5-dataflow");
    await page.selectOption("#slice", "out.svg");
    await page.waitForSelector('#flow-graph[data-slice="out.svg"] svg g.node');
    const sliced = Number(await page.locator("#flow-graph").getAttribute("data-nodes"));
    assert.ok(sliced > 1 && sliced < whole, `slice ${sliced} of ${whole}`);
    assert.equal(await page.locator("#flow-graph g.node.origin").count(), 1);
    // The slice of a value: what its last assignment was computed from.
    await page.selectOption("#slice", "prec_a");
    await page.waitForSelector('#flow-graph[data-slice="prec_a"] svg g.node.origin');
    const text = await page.locator("#flow-graph svg").textContent();
    assert.match(text ?? "", /days_a/);
    assert.doesNotMatch(text ?? "", /prec_b/);
    await shot("6-dataflow-slice");
  });

  it("shows the source with the recorded values on hover", async (t) => {
    if (!requireTool(t, "chromium")) return;
    await page.click('#tabs button[data-view=source]');
    await page.waitForSelector('#view[data-view=source][data-ready=true]');
    // days_a = read(...) is line 12 of experiment.py (0-based 11).
    const name = page.locator('#src span.id[data-line="11"]', { hasText: "days_a" }).first();
    await name.hover();
    await page.waitForSelector("#tooltip:not([hidden])");
    const tip = await page.locator("#tooltip").innerText();
    assert.match(tip, /days_a — assigned once in trial 4/);
    assert.match(tip, /\('2014-01-01', /);
    await shot("7-source-hover");
  });

  it("compares two selected trials: code side by side, modules, environment, files", async (t) => {
    if (!requireTool(t, "chromium")) return;
    await page.click('#history g.node[data-key="t1"]');
    await page.click('#history g.node[data-key="t2"]', { modifiers: ["Shift"] });
    await page.waitForSelector('#view[data-view=diff][data-ready=true] #diff-body[data-ready=true]');
    assert.equal(await page.inputValue("#diff-a"), "1");
    assert.equal(await page.inputValue("#diff-b"), "2");
    const body = await page.locator("#diff-body").innerText();
    assert.match(body, /Arguments/);
    assert.match(body, /2013 2015/);
    assert.match(body, /data\/p2015\.dat/);
    await shot("8-diff-arguments-files");
    // Code side by side: change the script, run it, compare with trial 1.
    fs.appendFileSync(path.join(dir, "experiment.py"), 'print("done")\n');
    assert.equal(now(["run", "experiment.py", "2013", "2014"], { cwd: dir }).status, 0);
    await page.waitForSelector('#history g.node[data-key="t5"]');
    await page.selectOption("#diff-a", "1");
    await page.selectOption("#diff-b", "5");
    await page.waitForFunction(() => document.querySelector("#diff-body table.sbs") !== null);
    const added = await page.locator("table.sbs tr.added td.r").allInnerTexts();
    assert.ok(added.some((l) => l.includes('print("done")')), added.join("\n"));
    await shot("9-diff-code");
  });

  it("logged no script error and no Content-Security-Policy violation", (t) => {
    if (!requireTool(t, "chromium")) return;
    assert.deepEqual(problems, []);
  });

  it("--open hands the address to xdg-open", async () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "nowls-bin-"));
    const seen = path.join(bin, "seen");
    fs.writeFileSync(path.join(bin, "xdg-open"), `#!/bin/sh\nprintf '%s' "$1" > '${seen}'\n`, { mode: 0o755 });
    fs.copyFileSync(path.join(bin, "xdg-open"), path.join(bin, "open"));
    const r = now(["vis", "--open"], { cwd: dir, env: { PATH: `${bin}:${process.env.PATH}` } });
    assert.equal(r.status, 0, r.stderr);
    await waitFor(() => fs.existsSync(seen) && fs.readFileSync(seen, "utf8").length > 0, 5000);
    assert.equal(fs.readFileSync(seen, "utf8"), url);
  });

  it("refuses bad input in one line: bad port, no store, port in use, another port", async () => {
    const bad = now(["vis", "--port", "http"], { cwd: dir });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim().split("\n").length, 1);
    assert.match(bad.stderr, /--port must be a whole number/);
    assert.equal(now(["vis", "--port", "70000"], { cwd: dir }).status, 2);
    const empty = tempProject();
    const none = now(["vis"], { cwd: empty });
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^now: no nowls store in .*\n$/);
    const other = now(["vis", "--port", String(Number(new URL(url).port) === 65000 ? 65001 : 65000)], { cwd: dir });
    assert.equal(other.status, 2);
    assert.match(other.stderr, /^now: now vis already serves this project on port \d+/);
    // A port another program holds.
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", () => r()));
    const port = (holder.address() as net.AddressInfo).port;
    writeFiles(empty, { "hello.py": "print('hi')\n" });
    assert.equal(now(["run", "hello.py"], { cwd: empty }).status, 0);
    try {
      const taken = now(["vis", "--port", String(port)], { cwd: empty });
      assert.equal(taken.status, 2, taken.stderr);
      assert.equal(taken.stderr, `now: port ${port} is in use (give another with --port)\n`);
    } finally {
      holder.close();
      now(["daemon", "stop"], { cwd: empty });
    }
  });
});

describe("now vis, its parts", () => {
  /** A synthetic trial: main → 20 × outer → 25 × inner each (521 activations), plus one helper. */
  function rows(): ActivationRow[] {
    const out: ActivationRow[] = [];
    const add = (parent: number | null, code: number, name: string) => {
      const id = out.length + 1;
      out.push({
        id, parent_id: parent, code_id: code, file: "m.py", name, qualname: name, line: code, kind: "function", start: id,
        finish: id + 1, duration: 1, status: "returned", args: [["x", String(id)]], return_value: "None", exception_type: null,
        exception_message: null, yields: 0,
      });
      return id;
    };
    const main = add(null, 1, "<module>");
    add(main, 4, "helper");
    for (let i = 0; i < 20; i++) {
      const o = add(main, 2, "outer");
      for (let j = 0; j < 25; j++) add(o, 3, "inner");
    }
    return out;
  }

  it("summarises loops, opens what fits, and expands on request", () => {
    const acts = rows();
    const g = activationGraph(acts, null);
    assert.equal(g.total, 522);
    assert.deepEqual(g.nodes.map((n) => n.label), ["<module>", "helper", "outer ×20"]);
    assert.equal(g.nodes[2].hidden, 520);
    assert.match(g.dot, /"g1\.2" \[id="g1\.2", label="outer ×20\\n20\.00 s\\n\+520 inside"/);
    // The loop listed: 20 calls, each with 25 inner calls summarised.
    const open = activationGraph(acts, [...g.expanded, "g1.2"]);
    assert.equal(open.nodes.filter((n) => n.label === "outer").length, 20);
    assert.equal(open.nodes.filter((n) => n.label === "outer").every((n) => n.hidden === 25 && !n.expanded), true);
    // One of them opened: its inner calls are a loop again.
    const first = open.nodes.find((n) => n.label === "outer")!.key;
    const deeper = activationGraph(acts, [...open.expanded, first]);
    assert.ok(deeper.nodes.some((n) => n.label === "inner ×25"));
    assert.ok(deeper.edges.some((e) => e.from === first));
    // Collapsing: the key left out.
    assert.equal(activationGraph(acts, []).nodes.length, 1);
  });

  it("shows at most 40 children of a node, the rest behind a 'more' node", () => {
    const acts: ActivationRow[] = [];
    const base = { file: "m.py", kind: "function", start: 0, finish: 1, duration: 1, status: "returned" as const, args: [], return_value: null, exception_type: null, exception_message: null, yields: 0 };
    acts.push({ ...base, id: 1, parent_id: null, code_id: 0, name: "<module>", qualname: "<module>", line: 1 });
    for (let i = 2; i <= 101; i++) acts.push({ ...base, id: i, parent_id: 1, code_id: i, name: `f${i}`, qualname: `f${i}`, line: i });
    const g = activationGraph(acts, null);
    assert.equal(g.nodes.length, 1 + 40 + 1);
    const more = g.nodes.at(-1)!;
    assert.equal(more.key, "more:a1");
    assert.equal(more.label, "… 60 more");
    assert.equal(activationGraph(acts, [...g.expanded, "more:a1"]).nodes.length, 101);
  });

  it("puts a unified diff side by side", () => {
    const patch = [
      "--- a", "+++ b", "@@ -1,4 +1,4 @@", " same", "-old 1", "-old 2", "+new 1", " tail", "+added",
    ].join("\n") + "\n";
    assert.deepEqual(sideBySide(patch), [
      { kind: "same", left: [1, "same"], right: [1, "same"] },
      { kind: "changed", left: [2, "old 1"], right: [2, "new 1"] },
      { kind: "removed", left: [3, "old 2"], right: null },
      { kind: "same", left: [4, "tail"], right: [3, "tail"] },
      { kind: "added", left: null, right: [4, "added"] },
    ]);
  });

  it("admits the token, loopback Host and own Origin only", () => {
    const tok = "abcDEF123_-";
    const h = (more: Record<string, string> = {}) => ({ host: "127.0.0.1:8000", ...more });
    assert.equal(admit(`/${tok}/api/trials?x=1`, h(), 8000, tok), "api/trials");
    assert.equal(admit(`/${tok}/`, h({ origin: "http://localhost:8000" }), 8000, tok), "");
    assert.equal(admit(`/${tok}/`, h({ host: "localhost:8000" }), 8000, tok), "");
    assert.equal(admit(`/${tok}x/`, h(), 8000, tok), null);
    assert.equal(admit(`/`, h(), 8000, tok), null);
    assert.equal(admit(`/${tok}/`, h({ host: "127.0.0.1:8001" }), 8000, tok), null);
    assert.equal(admit(`/${tok}/`, { }, 8000, tok), null);
    assert.equal(admit(`/${tok}/`, h({ origin: "null" }), 8000, tok), null);
    assert.equal(admit(`/${tok}/`, h({ origin: "https://127.0.0.1:8000" }), 8000, tok), null);
    assert.equal(sameToken(tok, tok), true);
    assert.equal(sameToken(tok.slice(1), tok), false);
  });
});
