// The fault-injection scenarios as data: what each round does is decided by its kind and
// these figures; the seeds are fixed so every run plays the same rounds (FAULTS_SEED
// overrides one, FAULTS_ROUNDS the number of rounds, FAULTS_ROUND replays one round,
// FAULTS_ONLY=a,b picks scenarios by name).
import type { Workload } from "./harness";

/** kill -9 of one process of a running trial, at a random point of its run, then 4 readers at once. */
export interface KillScenario {
  kind: "kill";
  name: string;
  seed: number;
  rounds: number;
  /** tracer: the Python child of `now run`; runner: `now run` itself; daemon: the project daemon it hands ingestion to. */
  target: "tracer" | "runner" | "daemon";
  /** A daemon runs (restarted after each round that killed it). */
  daemon: boolean;
  /** The workloads a round picks from (the kill point is drawn over the workload's calibrated duration). */
  workloads: Workload[];
  /**
   * When the kill lands: drawn over the run (the default), or a drawn 0–`window` ms after
   * the tracer process appears (the trial row exists, its log's header may not be ingested
   * yet), or after the trial's folder appears (`now run` makes it just before it spawns the tracer).
   */
  at?: { after: "tracer-start" | "trial-dir"; windowMs: number };
}

/** N concurrent `now run` with a daemon running, each ending with its own exit code. */
export interface ConcurrentScenario {
  kind: "concurrent";
  name: string;
  seed: number;
  rounds: number;
  runs: number;
  workloads: Workload[];
}

/** A small tmpfs in a user and mount namespace: runs as it fills up, then after space is freed. */
export interface DiskFullScenario {
  kind: "diskfull";
  name: string;
  seed: number;
  /** Size of the tmpfs holding the project and its .now. */
  sizeMiB: number;
  /** Free bytes left before each run on the full disk. */
  freeLevels: number[];
  /** Runs that start with this many bytes free while a filler takes the rest. */
  fillingRuns: number;
  fillingFreeMiB: number;
  workload: Workload;
  /** The workload of the runs that fill up as they go (larger). */
  fillingWorkload: Workload;
}

/** One large trial ingested while the peak RSS of `now run` is watched. */
export interface BigTrialScenario {
  kind: "bigtrial";
  name: string;
  seed: number;
  workload: Workload;
  rssGoalMiB: number;
  /** Kill and report after this long. */
  timeoutS: number;
}

export type Scenario = KillScenario | ConcurrentScenario | DiskFullScenario | BigTrialScenario;

/** Every activation recorded (about 1 s under `now run` here) or the first 1000 of each function (about 0.6 s). */
const LIGHT_WORK: Workload[] = [{ calls: 100_000, keep: 0 }, { calls: 600_000, keep: 1000 }];
const HEAVY_WORK: Workload[] = [{ calls: 200_000, keep: 0 }, { calls: 1_500_000, keep: 1000 }, { calls: 50_000, keep: 0 }];

/** `npm test`: 50 kill attempts (40+ land: a few find their process already gone or not yet started), 5 rounds of 8 concurrent runs, the full disk; about 1.5 minutes on 2 cores. */
export const LIGHT: Scenario[] = [
  { kind: "kill", name: "kill-tracer", seed: 1401, rounds: 12, target: "tracer", daemon: false, workloads: LIGHT_WORK },
  { kind: "kill", name: "kill-runner", seed: 1402, rounds: 12, target: "runner", daemon: false, workloads: LIGHT_WORK },
  { kind: "kill", name: "kill-daemon", seed: 1403, rounds: 12, target: "daemon", daemon: true, workloads: LIGHT_WORK },
  { kind: "kill", name: "kill-runner-daemon", seed: 1406, rounds: 6, target: "runner", daemon: true, workloads: LIGHT_WORK },
  // The window between the tracer's start and the first ingestion of its log, aimed at.
  { kind: "kill", name: "kill-runner-early", seed: 1407, rounds: 4, target: "runner", daemon: false, workloads: LIGHT_WORK, at: { after: "trial-dir", windowMs: 40 } },
  { kind: "kill", name: "kill-runner-early-daemon", seed: 1408, rounds: 4, target: "runner", daemon: true, workloads: LIGHT_WORK, at: { after: "tracer-start", windowMs: 60 } },
  { kind: "concurrent", name: "concurrent-8", seed: 1404, rounds: 5, runs: 8, workloads: [{ calls: 30_000, keep: 1000 }, { calls: 10_000, keep: 0 }] },
  {
    kind: "diskfull", name: "disk-full", seed: 1405, sizeMiB: 48, freeLevels: [2 << 20, 256 << 10, 16 << 10, 0],
    fillingRuns: 1, fillingFreeMiB: 12, workload: { calls: 30_000, keep: 0 }, fillingWorkload: { calls: 100_000, keep: 0 },
  },
];

/** `npm run test:faults`: more and longer rounds, kills while a daemon follows, and the 10 M-activation trial. */
export const HEAVY: Scenario[] = [
  { kind: "kill", name: "kill-tracer", seed: 2401, rounds: 20, target: "tracer", daemon: false, workloads: HEAVY_WORK },
  { kind: "kill", name: "kill-runner", seed: 2402, rounds: 20, target: "runner", daemon: false, workloads: HEAVY_WORK },
  { kind: "kill", name: "kill-daemon", seed: 2403, rounds: 20, target: "daemon", daemon: true, workloads: HEAVY_WORK },
  { kind: "kill", name: "kill-tracer-daemon", seed: 2404, rounds: 10, target: "tracer", daemon: true, workloads: HEAVY_WORK },
  { kind: "kill", name: "kill-runner-daemon", seed: 2405, rounds: 10, target: "runner", daemon: true, workloads: HEAVY_WORK },
  { kind: "kill", name: "kill-runner-early", seed: 2409, rounds: 10, target: "runner", daemon: false, workloads: HEAVY_WORK, at: { after: "tracer-start", windowMs: 100 } },
  { kind: "kill", name: "kill-runner-early-daemon", seed: 2410, rounds: 10, target: "runner", daemon: true, workloads: HEAVY_WORK, at: { after: "tracer-start", windowMs: 100 } },
  { kind: "concurrent", name: "concurrent-8", seed: 2406, rounds: 20, runs: 8, workloads: [{ calls: 50_000, keep: 1000 }, { calls: 20_000, keep: 0 }] },
  {
    kind: "diskfull", name: "disk-full", seed: 2407, sizeMiB: 64,
    freeLevels: [8 << 20, 2 << 20, 512 << 10, 64 << 10, 16 << 10, 4 << 10, 0],
    fillingRuns: 4, fillingFreeMiB: 16, workload: { calls: 30_000, keep: 0 }, fillingWorkload: { calls: 150_000, keep: 0 },
  },
  // 9 010 000 leaf + 901 000 step + 90 100 chunk + 4 = 10 001 104 activations, all recorded.
  { kind: "bigtrial", name: "big-trial-10M", seed: 2408, workload: { calls: 9_010_000, keep: 0 }, rssGoalMiB: 300, timeoutS: 1500 },
];

/** The scenarios picked by FAULTS_ONLY (all when unset), with FAULTS_SEED / FAULTS_ROUNDS applied. */
export function selected(table: Scenario[]): Scenario[] {
  const only = process.env.FAULTS_ONLY?.split(",").map((s) => s.trim()).filter(Boolean);
  return table
    .filter((s) => !only || only.includes(s.name))
    .map((s) => {
      const copy = { ...s };
      if (process.env.FAULTS_SEED) copy.seed = Number(process.env.FAULTS_SEED);
      if (process.env.FAULTS_ROUNDS && "rounds" in copy) copy.rounds = Number(process.env.FAULTS_ROUNDS);
      return copy;
    });
}
