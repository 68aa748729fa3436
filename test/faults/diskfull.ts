// The disk-full scenario's driver, run by run.ts inside `unshare -rm` once a small tmpfs
// is mounted at MNT: node dist/test/faults/diskfull.js MNT SCENARIO_JSON RESULT_FILE.
//
// The project (script, .git, .now) lives on the tmpfs; the script's working folder (its
// input.txt and out/ files) and node, Python and the repository live outside it, so only
// what nowls writes competes for space and the script, run untraced, behaves the same at
// any fill level. Each traced run is compared with an untraced run of the same arguments:
// same stdout, same stderr (apart from nowls' own `now: …` lines), same exit code.
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { PYTHON, rng } from "../helpers";
import {
  allTrials, completeProblems, excerpt, finish, integrityCheck, killPid, makeProject, endedProblems, roundSeed, runReaders, stackIn,
  startNow, summaryTrial, Tally, tracersOf, trialByTag, type TrialFacts, type Workload,
} from "./harness";
import type { DiskFullScenario } from "./scenarios";

const [mnt, scenarioJson, resultFile] = process.argv.slice(2);

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Bytes free on the tmpfs. */
function free(): number {
  const st = fs.statfsSync(mnt);
  return st.bavail * st.bsize;
}

const fillers: string[] = [];

/** Writes a new filler file until only `leave` bytes are free (or the disk refuses more). */
function fillTo(leave: number): void {
  const file = path.join(mnt, `filler-${fillers.length}`);
  fillers.push(file);
  const fd = fs.openSync(file, "w");
  const chunk = Buffer.alloc(64 << 10, 0x5a);
  try {
    for (let want = free() - leave; want > 0; want = free() - leave) {
      try {
        fs.writeSync(fd, chunk, 0, Math.min(chunk.length, want));
      } catch {
        break; // ENOSPC: as full as it gets
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The script untraced: what a traced run must reproduce. */
function untraced(script: string, cwd: string, args: string[]) {
  const r = spawnSync(PYTHON, [script, ...args], { cwd, encoding: "utf8" });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
}

async function main(): Promise<void> {
  const s = JSON.parse(scenarioJson) as DiskFullScenario;
  const tally = new Tally(s.name, s.seed, () => `FAULTS_ONLY=${s.name} npm run test:faults`);
  const rand = rng(roundSeed(s.seed, 0));
  const root = makeProject("proj-", mnt);
  const script = path.join(root, "workload.py");
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "nowls-faults-disk-cwd-"));
  fs.writeFileSync(path.join(cwd, "input.txt"), "fault injection input\n");
  let verified: { id: number; activations: number } | null = null;
  let n = 0;
  const pending: { tag: string; w: Workload; code: number; label: string }[] = [];

  /** One traced run compared with the untraced one; `complete`: the trial must also hold every row. */
  const run = async (w: Workload, label: string, complete: boolean, during?: () => Promise<void>) => {
    const code = Math.floor(rand() * 6);
    const tag = `disk-${n++}`;
    const args = [String(w.calls), String(code), tag];
    const ref = untraced(script, cwd, args);
    const cmd = ["run", "--calls-keep", String(w.keep), script, ...args];
    const before = free();
    const p = startNow(cmd, cwd);
    const filling = during?.();
    const { exit, hung } = await finish(p, 300_000);
    await filling;
    const problems: string[] = [];
    if (hung) problems.push("`now run` hung");
    if (exit.code !== ref.code) problems.push(`\`now run\` exited ${exit.code ?? exit.signal}, the script untraced ${ref.code}`);
    if (p.stdout !== ref.stdout) problems.push(`stdout differs from the untraced run's: ${excerpt(p.stdout, 300)} vs ${excerpt(ref.stdout, 300)}`);
    const scriptErr = p.stderr.split("\n").filter((l) => !l.startsWith("now: ")).join("\n");
    if (scriptErr !== ref.stderr) problems.push(`stderr (without now: lines) differs from the untraced run's: ${JSON.stringify(excerpt(scriptErr, 600))} vs ${JSON.stringify(ref.stderr)}`);
    const stack = stackIn(p.stderr);
    if (stack) problems.push(`stack on stderr: ${stack}`);
    const nowLines = p.stderr.split("\n").filter((l) => l.startsWith("now: "));
    const id = summaryTrial(p.stderr);
    if (complete && id === null) problems.push("no one-line summary `now: trial N … (now show N)`");
    if (!complete && nowLines.length === 0) problems.push("nothing from nowls on stderr: the summary (or why there is none) is missing");
    // On the full disk even a read-only open of the store may fail (its -shm cannot grow):
    // trials recorded there are checked once space is back.
    let t: TrialFacts | null = null;
    if (complete) {
      t = trialByTag(root, tag);
      if (!t) problems.push("no trial carries its tag");
      else problems.push(...completeProblems(t, w, code, tag));
    } else pending.push({ tag, w, code, label });
    const how = `${label}: ${(before / 1024).toFixed(0)} KiB free at the start; ${w.calls} calls, --calls-keep ${w.keep}, exit code ${code}` +
      `${t ? `; trial ${t.id} ${t.status}, ${t.activations} activations` : ""}; nowls said: ${nowLines.join(" | ") || "(nothing)"}`;
    log(`  ${how}${problems.length ? ` — FAILED: ${problems.join("; ")}` : ""}`);
    tally.note(how);
    const held = tally.trial(null, `${label}: the script as untraced`, problems, `command: (cd ${cwd} && now ${cmd.join(" ")})\n${how}\nstderr: ${excerpt(p.stderr, 800)}`);
    return { held, t };
  };

  const readers = async (when: string, full: boolean) => {
    const r = await runReaders(root, undefined, full);
    tally.count("readers run", r.ran);
    if (r.refused.length) {
      tally.count("readers refused on the full disk (one line, non-zero exit)", r.refused.length);
      tally.note(`readers ${when}: ${r.refused.length} of ${r.ran} refused: ${[...new Set(r.refused.map((x) => x.replace(/^`[^`]*` /, "")))].join(" | ")}`);
    }
    tally.check(r.problems.length === 0, null, `a reader failed ${when}`, r.problems.join("\n"));
  };

  try {
    const base = await run(s.workload, "with space", true);
    if (base.held && base.t) verified = { id: base.t.id, activations: base.t.activations };

    for (const level of s.freeLevels) {
      for (const f of fillers.splice(0)) fs.rmSync(f, { force: true });
      fillTo(level);
      await run(s.workload, `full disk, ${(level / 1024).toFixed(0)} KiB left`, false);
      await readers(`on the full disk (${(level / 1024).toFixed(0)} KiB left)`, true);
    }
    for (const f of fillers.splice(0)) fs.rmSync(f, { force: true });

    for (let i = 0; i < s.fillingRuns; i++) {
      fillTo(s.fillingFreeMiB << 20);
      await run(s.fillingWorkload, `filling up while it runs (#${i + 1})`, false, async () => {
        // Another writer takes the rest of the space while the trial runs.
        const file = path.join(mnt, `filler-run-${i}`);
        fillers.push(file);
        const fd = fs.openSync(file, "w");
        const chunk = Buffer.alloc(256 << 10, 0x5a);
        try {
          for (;;) {
            await new Promise((r) => setTimeout(r, 10 + Math.floor(rand() * 20)));
            fs.writeSync(fd, chunk);
          }
        } catch {
          // ENOSPC: full
        } finally {
          fs.closeSync(fd);
        }
      });
      await readers("while the disk is full", true);
      for (const f of fillers.splice(0)) fs.rmSync(f, { force: true });
    }

    // Space is back: the next run works, and everything recorded before is sound.
    await run(s.workload, "after space was freed", true);
    await readers("after space was freed", false);
    const list = startNow(["list", "--json"], root);
    await finish(list, 60_000);
    const trials = allTrials(root);
    const running = trials.filter((t) => t.status === "running");
    tally.check(running.length === 0, null, "trials still marked running after space was freed", running.map((t) => `trial ${t.id}`).join(", "));
    // What was recorded on the full disk, once a command could finish it: not running, and
    // a trial that says it finished holds every row; an interrupted one may hold fewer.
    for (const r of pending) {
      const t = trialByTag(root, r.tag);
      if (!t) {
        tally.count("full-disk runs with no trial row");
        continue;
      }
      tally.count(`full-disk trials ended as ${t.status}${t.incomplete !== null ? " (marked incomplete)" : ""}`);
      const problems = endedProblems(t, r.w, r.code, r.tag);
      tally.trial(null, `${r.label}: the trial once space was back`, problems,
        `trial ${t.id} ${t.status}, ${t.activations} activations, exit_code ${t.exit_code}, incomplete: ${t.incomplete ?? "no"}`);
    }
    const logsLeft = trials.filter((t) => t.status !== "running" && fs.existsSync(path.join(root, ".now", "trials", t.uuid, "events.jsonl")));
    tally.check(logsLeft.length === 0, null, "event logs left for ended trials after space was freed",
      logsLeft.map((t) => `trial ${t.id} (${t.status}): .now/trials/${t.uuid}/events.jsonl`).join("\n"));
    if (verified) {
      const v = verified;
      const t = trials.find((x) => x.id === v.id);
      tally.check(!!t && t.activations === v.activations, null, "the trial recorded before the disk filled was lost or changed", JSON.stringify(t));
    }
    tally.note(`trials after freeing: ${trials.map((t) => `${t.id} ${t.status} (${t.activations})`).join(", ")}`);
    const integrity = integrityCheck(root);
    tally.check(integrity === "ok", null, "PRAGMA integrity_check is not ok after the full disk", integrity.slice(0, 2000));
    const orphans = tracersOf(root);
    tally.check(orphans.length === 0, null, "tracer processes left running", orphans.map((o) => o.cmdline).join("\n"));
    for (const o of orphans) killPid(o.pid);
  } catch (e) {
    tally.check(false, null, "the disk-full driver failed", (e as Error).stack ?? String(e));
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
    fs.writeFileSync(resultFile, JSON.stringify({
      tried: tally.tried, held: tally.held, checks: tally.checks, failures: tally.failures, notes: tally.notes, counts: tally.counts,
    }));
  }
}

if (require.main === module) {
  main().then(() => process.exit(0), (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}

