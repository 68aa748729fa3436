// Managing trials on the demo project: diff, history, restore, tags, notes, gc. Outputs
// a person reads are compared with files in test/expected/ (UPDATE_EXPECTED=1 rewrites).
import assert from "node:assert/strict";
import fs from "fs";
import os from "os";
import path from "path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { json, matchesExpected, normalize, now, REPO, tempProject, integrity } from "./helpers";

const EXPECTED = path.join(REPO, "test", "expected");

function demoProject(): string {
  const dir = path.join(tempProject("nowls-manage-"), "demo");
  const r = now(["demo", dir], { cwd: os.tmpdir() });
  assert.equal(r.status, 0, r.stderr);
  return dir;
}

function ok(args: string[], cwd: string): string {
  const r = now(args, { cwd });
  assert.equal(r.status, 0, `now ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

function expectText(actual: string, name: string): void {
  const { ok: same, expected } = matchesExpected(actual, path.join(EXPECTED, name));
  assert.ok(same, `differs from test/expected/${name}:\n--- expected\n${expected}\n--- actual\n${actual}`);
}

const read = (dir: string, f: string) => fs.readFileSync(path.join(dir, f));
const original = (f: string) => fs.readFileSync(path.join(REPO, "examples", "precipitation", f));


function edit(dir: string): void {
  const script = path.join(dir, "experiment.py");
  fs.writeFileSync(script, read(dir, "experiment.py").toString().replace("digits = 1 if", "digits = 2 if"));
  fs.appendFileSync(path.join(dir, "data", "p2014.dat"), "2014-12-31\t99.0\n");
}

test("diff of the demo's two trials, and of an edited trial", () => {
  const dir = demoProject();
  expectText(normalize(ok(["diff", "1", "2"], dir), dir), "diff-demo-1-2.txt");
  edit(dir);
  ok(["run", "experiment.py", "2013", "2014"], dir);
  expectText(normalize(ok(["diff", "1", "3"], dir), dir), "diff-demo-1-3.txt");
  const d = json(now(["diff", "1", "3", "--json"], { cwd: dir }));
  assert.deepEqual(d.code.map((c: any) => [c.path, c.change]), [["experiment.py", "changed"]]);
  assert.deepEqual(d.files.map((f: any) => [f.path, f.inputChanged, f.outputChanged]), [
    ["data/p2014.dat", true, false],
    ["out.svg", false, true],
  ]);
  const fine = ok(["diff", "1", "3", "--fine"], dir);
  assert.match(fine, /Values: trial 1 and 3 were recorded coarse \(now run --fine records values\)/);
});

test("restore round trip: bytes identical, unsaved work backed up, history branches", () => {
  const dir = demoProject();
  edit(dir);
  ok(["run", "experiment.py", "2013", "2014"], dir); // trial 3, from the edited files
  fs.appendFileSync(path.join(dir, "experiment.py"), "# unsaved idea\n");
  const edited = read(dir, "experiment.py");

  const out = ok(["restore", "1"], dir);
  expectText(normalize(out, dir), "restore-demo-1.txt");
  assert.deepEqual(read(dir, "experiment.py"), original("experiment.py"));
  assert.deepEqual(read(dir, "data/p2014.dat"), original("data/p2014.dat"));
  assert.deepEqual(read(dir, "precipitation.py"), original("precipitation.py"));

  // The edited script existed nowhere in the store, so it was saved as backup trial 4.
  const backup = json(now(["show", "4", "--json"], { cwd: dir }));
  assert.equal(backup.trial.kind, "backup");
  assert.deepEqual(backup.snapshot.map((f: any) => f.path).sort(), ["data/p2014.dat", "experiment.py"]);
  ok(["restore", "4"], dir);
  assert.deepEqual(read(dir, "experiment.py"), edited);
  ok(["restore", "1"], dir); // nothing unsaved now: no new backup
  assert.equal(json(now(["list", "--json"], { cwd: dir })).length, 4);

  ok(["run", "experiment.py", "2013", "2014"], dir); // trial 5 derives from 1: a branch
  const five = json(now(["show", "5", "--json"], { cwd: dir }));
  assert.equal(five.trial.parent_id, 1);
  expectText(normalize(ok(["history"], dir), dir), "history-branch.txt");
  const graph = json(now(["history", "--format", "json"], { cwd: dir }));
  assert.deepEqual(graph.map((n: any) => [n.id, n.parent]), [[1, null], [2, 1], [3, 2], [4, 3], [5, 1]]);
  const dot = ok(["history", "--format", "dot"], dir);
  assert.match(dot, /^digraph history \{/);
  assert.match(dot, /t5 -> t1;/);
  assert.equal(ok(["history", "--status", "backup", "--format", "json"], dir).includes('"id": 4'), true);
  assert.equal(integrity(dir), "ok");
});

test("restore of one file, and restore without inputs", () => {
  const dir = demoProject();
  edit(dir);
  const out = ok(["restore", "1", "--file", "data/p2014.dat"], dir);
  assert.match(out, /restored  data\/p2014\.dat  \(input\) as in trial 1/);
  assert.deepEqual(read(dir, "data/p2014.dat"), original("data/p2014.dat"));
  assert.notDeepEqual(read(dir, "experiment.py"), original("experiment.py"));
  edit(dir);
  ok(["restore", "1", "--no-inputs"], dir);
  assert.deepEqual(read(dir, "experiment.py"), original("experiment.py"));
  assert.notDeepEqual(read(dir, "data/p2014.dat"), original("data/p2014.dat"));
  const r = now(["restore", "1", "--file", "nothing.txt"], { cwd: dir });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^now: trial 1 has no stored version of nothing\.txt \(it has: experiment\.py, precipitation\.py, data\/p2013\.dat, data\/p2014\.dat\)\n$/);
});

test("restore refuses to write outside the root, through .. or a symlink, and writes nothing", () => {
  const base = tempProject("nowls-escape-");
  const dir = path.join(base, "proj");
  const outside = path.join(base, "outside");
  fs.mkdirSync(path.join(dir, ".git"), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, "data.txt"), "v1\n");
  fs.symlinkSync(outside, path.join(dir, "linked"));
  fs.writeFileSync(path.join(dir, "up.py"), "print(open('../outside/data.txt').read())\n");
  fs.writeFileSync(path.join(dir, "link.py"), "print(open('linked/data.txt').read())\n");
  ok(["run", "up.py"], dir);
  ok(["run", "link.py"], dir);
  fs.writeFileSync(path.join(outside, "data.txt"), "v2\n");
  fs.writeFileSync(path.join(dir, "up.py"), "print('changed')\n");
  for (const [trial, reason] of [
    ["1", /refusing to restore trial 1: .*outside\/data\.txt is outside the project root .*; nothing was written/],
    ["2", /refusing to restore trial 2: linked\/data\.txt leads outside the project root through a symbolic link; nothing was written/],
  ] as [string, RegExp][]) {
    const r = now(["restore", trial], { cwd: dir });
    assert.equal(r.status, 2);
    assert.match(r.stderr, reason);
  }
  assert.equal(fs.readFileSync(path.join(outside, "data.txt"), "utf8"), "v2\n");
  assert.equal(fs.readFileSync(path.join(dir, "up.py"), "utf8"), "print('changed')\n");
});

test("restore of a trial whose content is missing fails cleanly and writes nothing", () => {
  const dir = demoProject();
  edit(dir);
  const before = [read(dir, "experiment.py"), read(dir, "data/p2014.dat")];
  const shown = json(now(["show", "1", "--json", "-f"], { cwd: dir }));
  const hash = shown.files.find((f: any) => f.path === "data/p2014.dat").hash_before;
  fs.rmSync(path.join(dir, ".now", "content", hash.slice(0, 2), hash.slice(2)));
  const r = now(["restore", "1"], { cwd: dir });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^now: trial 1's content of data\/p2014\.dat \([0-9a-f]{10}\) is missing from \.now\/content; nothing was written\n$/);
  assert.deepEqual([read(dir, "experiment.py"), read(dir, "data/p2014.dat")], before);
  assert.equal(json(now(["list", "--json"], { cwd: dir })).length, 2, "no backup trial for a restore that did not happen");
});

test("tags and notes: a trial is named by number, tag or UUID everywhere", () => {
  const dir = demoProject();
  assert.equal(ok(["tag", "1", "baseline"], dir), "trial 1 is tagged baseline\n");
  ok(["note", "baseline", "rain gauge recalibrated after this one"], dir);
  const uuid = json(now(["show", "2", "--json"], { cwd: dir })).trial.uuid;
  assert.match(ok(["diff", "baseline", uuid], dir), /^Trial 1 → trial 2\n/);
  const shown = ok(["show", "baseline"], dir);
  assert.match(shown, /^Trial 1 /);
  assert.match(shown, /tags       baseline/);
  assert.match(shown, /note 1 \(.*\): rain gauge recalibrated after this one/);
  assert.match(ok(["history"], dir), /\* 1 \(baseline\) /);
  for (const [args, message] of [
    [["tag", "2", "baseline"], /^now: tag 'baseline' already names trial 1 \(use --force to move it\)\n$/],
    [["tag", "2", "12"], /^now: bad tag name '12'/],
    [["tag", "9", "x"], /^now: no trial 9 \(trials are 1 to 2\)\n$/],
    [["note", "1", "  "], /^now: a note needs some text\n$/],
    [["tag", "--delete", "nope"], /^now: no tag 'nope'\n$/],
  ] as [string[], RegExp][]) {
    const r = now(args, { cwd: dir });
    assert.equal(r.status, 2, args.join(" "));
    assert.match(r.stderr, message);
  }
  ok(["tag", "2", "baseline", "--force"], dir);
  assert.deepEqual(json(now(["tag", "--json"], { cwd: dir })).map((t: any) => [t.name, t.trial_id]), [["baseline", 2]]);
});

test("gc removes only unreferenced blobs; every trial stays restorable", () => {
  const dir = demoProject();
  edit(dir);
  ok(["run", "experiment.py", "2013", "2014"], dir);
  const stray = "ab" + "c".repeat(62);
  fs.mkdirSync(path.join(dir, ".now", "content", "ab"), { recursive: true });
  fs.writeFileSync(path.join(dir, ".now", "content", "ab", "c".repeat(62)), "nobody refers to me");
  const report = json(now(["gc", "--json"], { cwd: dir }));
  assert.equal(report.blobs_removed, 1);
  assert.equal(report.blob_bytes_freed, 19);
  assert.equal(fs.existsSync(path.join(dir, ".now", "content", stray.slice(0, 2), stray.slice(2))), false);
  assert.equal(json(now(["gc", "--json"], { cwd: dir })).blobs_removed, 0);
  assert.equal(integrity(dir), "ok");
  for (const t of json(now(["list", "--json"], { cwd: dir }))) {
    ok(["restore", String(t.id)], dir);
  }
  ok(["restore", "1"], dir);
  assert.deepEqual(read(dir, "experiment.py"), original("experiment.py"));
});

test("gc removes the event logs whose every complete line is in the store, and says why it keeps the others", () => {
  const dir = demoProject();
  ok(["run", "experiment.py", "2013", "2014"], dir);
  const [t1, t2] = json(now(["list", "--json"], { cwd: dir }));
  const stored = (uuid: string) => {
    const db = new Database(path.join(dir, ".now", "db.sqlite"), { readonly: true });
    const n = (db.prepare("SELECT ingested_bytes AS n FROM trial WHERE uuid = ?").get(uuid) as { n: number }).n;
    db.close();
    return n;
  };
  const logOf = (uuid: string) => path.join(dir, ".now", "trials", uuid, "events.jsonl");
  const writeLog = (uuid: string, bytes: number, tail = "") => {
    fs.mkdirSync(path.dirname(logOf(uuid)), { recursive: true });
    fs.writeFileSync(logOf(uuid), " ".repeat(bytes - 1) + "\n" + tail);
  };
  writeLog(t1.uuid, stored(t1.uuid), "{\"e\":\"call\",\"id\""); // all in, plus a half-written line
  writeLog(t2.uuid, stored(t2.uuid) + 10); // ten bytes nobody ingested
  const stranger = "00000000-0000-4000-8000-00000000abcd";
  writeLog(stranger, 5);
  const dry = json(now(["gc", "--json", "--dry-run"], { cwd: dir }));
  assert.equal(dry.logs_removed, 1);
  assert.ok(fs.existsSync(logOf(t1.uuid)), "--dry-run removes nothing");
  const r = now(["gc"], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /and 1 ingested event logs/);
  assert.equal(fs.existsSync(logOf(t1.uuid)), false);
  assert.equal(fs.existsSync(path.dirname(logOf(t1.uuid))), false);
  assert.ok(fs.existsSync(logOf(t2.uuid)) && fs.existsSync(logOf(stranger)));
  assert.match(r.stdout, new RegExp(`kept \\.now/trials/${t2.uuid}/events\\.jsonl: trial ${t2.id} holds \\d+ of its \\d+ bytes`));
  assert.match(r.stdout, new RegExp(`kept \\.now/trials/${stranger}/events\\.jsonl: no trial of that uuid in the store`));
});
