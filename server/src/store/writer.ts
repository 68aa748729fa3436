import type * as ev from "../../../protocol/events";
import { shellQuote } from "../format/text";
import { storedPath } from "../paths";
import type { DB } from "./database";

export interface NewTrial {
  uuid: string;
  script: string;
  argv: string[];
  command: string;
  python: string;
  cwd: string;
  root: string;
  startedAt: number;
  runnerPid: number;
  runnerHost: string;
  granularity: string;
}

/**
 * Creates the trial row; the number is the next free one, taken under the write lock. Its
 * parent is the script's head (the last trial of the script, or the one restored since),
 * and it becomes the head in the same transaction, so concurrent runs form a chain.
 */
export function createTrial(db: DB, t: NewTrial): number {
  const insert = db.prepare(
    `INSERT INTO trial (uuid, script, argv, command, python, cwd, root, granularity, status,
                        started_at, runner_pid, runner_host, parent_id)
     VALUES (@uuid, @script, @argv, @command, @python, @cwd, @root, @granularity, 'running',
             @startedAt, @runnerPid, @runnerHost, (SELECT trial_id FROM head WHERE script = @script))`,
  );
  const setHead = db.prepare(`INSERT OR REPLACE INTO head (script, trial_id) VALUES (?, ?)`);
  const run = db.transaction(() => {
    const script = storedPath(t.root, t.script);
    const id = Number(insert.run({ ...t, script, argv: JSON.stringify(t.argv) }).lastInsertRowid);
    setHead.run(script, id);
    return id;
  });
  return run.immediate();
}

/** A batch of the event log, as the ingester read it. */
export interface Batch {
  events: ev.TraceEvent[];
  problems: string[];
  /** Where the next batch starts. */
  offset: number;
}

export interface TrialEnd {
  /** "cancelled" overrides what the log says: the user stopped it. */
  status: "finished" | "failed" | "interrupted" | "cancelled";
  exitCode: number | null;
  signal: string | null;
  finishedAt: number;
}

/**
 * Writes the events of one trial's log into the store. Each batch goes in one transaction
 * together with the log offset it reaches, so a batch is either wholly in the store or
 * not at all, and ingestion can resume from `ingested_bytes` after a crash.
 */
export class TrialWriter {
  private readonly s;
  /** The number of the trial's last warning; read again under the lock of every batch. */
  private warnings = 0;

  constructor(private readonly db: DB, readonly trialId: number, private readonly root: string) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      header: p(`UPDATE trial SET started_at = @t0, tracer_pid = @pid, tracer_version = @tracer,
                   core = @core, core_reason = @core_reason, event_version = @version,
                   granularity = @granularity, script_hash = @script_hash, argv = @argv,
                   command = @command
                 WHERE id = @trial`),
      deployment: p(`INSERT OR REPLACE INTO deployment VALUES
                       (@trial, @os_system, @os_release, @os_version, @os_name, @hostname, @machine,
                        @py_implementation, @py_version, @py_executable, @py_prefix)`),
      env: p(`INSERT OR REPLACE INTO environment VALUES (?, ?, ?, ?)`),
      code: p(`INSERT OR REPLACE INTO code (trial_id, id, file, name, qualname, line, kind) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      call: p(`INSERT OR REPLACE INTO activation (trial_id, id, code_id, parent_id, start, args)
               VALUES (?, ?, ?, ?, ?, ?)`),
      whole: p(`INSERT INTO activation (trial_id, id, code_id, parent_id, start, args, finish,
                  status, return_value, exception_type, exception_message)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      ret: p(`UPDATE activation SET finish = ?, status = 'returned', return_value = ?
              WHERE trial_id = ? AND id = ?`),
      raise: p(`UPDATE activation SET finish = ?, status = 'raised', exception_type = ?,
                  exception_message = ? WHERE trial_id = ? AND id = ?`),
      yld: p(`UPDATE activation SET yields = yields + 1, status = 'suspended' WHERE trial_id = ? AND id = ?`),
      resume: p(`UPDATE activation SET status = 'running' WHERE trial_id = ? AND id = ?`),
      open: p(`INSERT OR REPLACE INTO file_access (trial_id, id, activation_id, path, mode,
                 hash_before, opened_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      close: p(`UPDATE file_access SET hash_after = ?, closed_at = ?, closed_at_exit = ?
                WHERE trial_id = ? AND id = ?`),
      module: p(`INSERT OR REPLACE INTO module VALUES (?, ?, ?, ?, ?, ?)`),
      output: p(`UPDATE trial SET stdout_chars = ?, stderr_chars = ? WHERE id = ?`),
      warning: p(`INSERT OR REPLACE INTO trial_warning VALUES (?, ?, ?)`),
      // The script's end as its log tells it. The status stays `running` until `finish`
      // (counts, the log's removal) is done, so a runner killed in between leaves a trial
      // that recovery still sees as its job; `finished_at` set while running means "ended".
      endEv: p(`UPDATE trial SET exit_code = ?, finished_at = started_at + ?,
                  exception_type = ?, exception_message = ?, traceback = ? WHERE id = ?`),
      offset: p(`UPDATE trial SET ingested_bytes = ? WHERE id = ?`),
      value: p(`INSERT OR REPLACE INTO value (trial_id, id, activation_id, line, col, target, kind, value, count)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      dep: p(`INSERT OR IGNORE INTO dependency VALUES (?, ?, ?, ?)`),
      alias: p(`UPDATE OR IGNORE dependency SET source_id = ?
                WHERE trial_id = ? AND source_kind = 'value' AND source_id = ?`),
      unknown: p(`INSERT OR REPLACE INTO unknown_line VALUES (?, ?, ?, ?)`),
      warnCount: p(`SELECT coalesce(max(seq), 0) AS n FROM trial_warning WHERE trial_id = ?`),
      storedOffset: p(`SELECT ingested_bytes AS n FROM trial WHERE id = ?`),
      incomplete: p(`UPDATE trial SET incomplete = coalesce(incomplete, ?) WHERE id = ?`),
      zeroCounts: p(`UPDATE code SET calls = elided, total = 0 WHERE trial_id = ?`),
      callsElided: p(`UPDATE code SET elided = elided + ? WHERE trial_id = ? AND id = ?`),
      counts: p(`UPDATE code SET calls = s.n + code.elided, total = s.t
                   FROM (SELECT code_id, count(*) AS n, coalesce(sum(finish - start), 0) AS t
                           FROM activation WHERE trial_id = ? GROUP BY code_id) AS s
                  WHERE code.trial_id = ? AND code.id = s.code_id`),
      // When the log has its `end` (finished_at set), the script ended by itself: its status
      // follows its exit code — the process's own when known (an atexit handler may still
      // os._exit), else the log's — whatever the caller guessed (a recovering command says
      // `interrupted`). Finishing again keeps what the first finish decided.
      finish: p(`UPDATE trial SET
                   status = CASE
                     WHEN @status = 'cancelled' THEN 'cancelled'
                     WHEN status <> 'running' THEN status
                     WHEN finished_at IS NOT NULL THEN
                       CASE WHEN COALESCE(@exitCode, exit_code) = 0 THEN 'finished' ELSE 'failed' END
                     ELSE @status END,
                   exit_code = COALESCE(@exitCode, exit_code),
                   signal = CASE WHEN status = 'running' THEN @signal ELSE COALESCE(signal, @signal) END,
                   finished_at = COALESCE(finished_at, @finishedAt)
                 WHERE id = @trial`),
    };
  }

  /**
   * Calls not yet written, by activation id. Most activations start and end within one
   * batch: they are written once, whole, when they end. Whatever is still open at the end
   * of a batch is written as running, so a killed trial still shows it.
   */
  private pending = new Map<number, ev.CallEvent>();

  /**
   * Ingests the next batch of the log: under the write lock, reads where the store says
   * ingestion stopped, applies what `read` returns from there and records the new offset,
   * all in one transaction. Any number of processes may call this for the same trial at
   * once (a runner, its daemon, commands recovering it): each batch starts where the last
   * committed one ended, so no event is applied twice or skipped, by construction.
   */
  ingest(read: (offset: number) => Batch): Batch & { from: number } {
    try {
      return this.db.transaction(() => {
        const from = (this.s.storedOffset.get(this.trialId) as { n: number } | undefined)?.n ?? 0;
        const batch = read(from);
        if (batch.offset === from && batch.problems.length === 0) return { ...batch, from };
        this.warnings = (this.s.warnCount.get(this.trialId) as { n: number }).n;
        for (const e of batch.events) this.one(e);
        for (const id of [...this.pending.keys()]) this.writePending(id);
        for (const m of batch.problems) this.s.warning.run(this.trialId, ++this.warnings, m);
        this.s.offset.run(batch.offset, this.trialId);
        return { ...batch, from };
      }).immediate();
    } finally {
      // A failed batch (full disk) is rolled back whole; nothing of it may linger here.
      this.pending.clear();
    }
  }

  /**
   * Notes the tracer's pid as soon as it is spawned: until its log's header is ingested,
   * this is what tells a recovering command that the tracer still runs.
   */
  tracerStarted(pid: number): void {
    this.db.prepare(`UPDATE trial SET tracer_pid = coalesce(tracer_pid, ?) WHERE id = ?`).run(pid, this.trialId);
  }

  /** Marks the record as incomplete (the first reason given is kept). */
  markIncomplete(reason: string): void {
    this.db.transaction(() => this.s.incomplete.run(reason, this.trialId)).immediate();
  }

  finish(end: TrialEnd): void {
    // The counts group every activation of the trial; SQLite's sorter may use as much memory
    // as the page cache allows, which is sized for inserts. A smaller cache for this one
    // statement keeps a 10^7-activation trial's finish from doubling the process's memory.
    const cache = this.db.pragma("cache_size", { simple: true }) as number;
    this.db.pragma("cache_size = -8192");
    try {
      this.db.transaction(() => {
        this.s.finish.run({ ...end, trial: this.trialId });
        this.s.zeroCounts.run(this.trialId); // code objects that never ran in it count 0, not unknown
        this.s.counts.run(this.trialId, this.trialId);
      }).immediate();
    } finally {
      this.db.pragma(`cache_size = ${cache}`);
    }
  }

  private writePending(activation: number): void {
    const c = this.pending.get(activation);
    if (!c) return;
    this.pending.delete(activation);
    this.s.call.run(this.trialId, c.id, c.code, c.parent, c.t, JSON.stringify(c.args));
  }

  private rel(p: string): string {
    return storedPath(this.root, p);
  }

  private one(e: ev.TraceEvent): void {
    const id = this.trialId;
    if ((e.e as string) === "incomplete") {
      // The tracer had to stop recording (full disk, its runner died): the script's own
      // outcome still comes from its exit, but the record says what it misses.
      const { reason, t } = e as unknown as { reason?: unknown; t?: unknown };
      const after = typeof t === "number" ? ` (after ${t.toFixed(1)} s)` : "";
      this.s.incomplete.run(`${typeof reason === "string" ? reason : "the tracer stopped recording"}${after}`, id);
      return;
    }
    switch (e.e) {
      case "header":
        this.s.header.run({
          trial: id, t0: e.t0, pid: e.pid, tracer: e.tracer, core: e.core, core_reason: e.core_reason,
          version: e.version, granularity: e.granularity, script_hash: e.script_hash, argv: JSON.stringify(e.argv),
          // The command line as the tracer saw it, secrets redacted (see runTrial).
          command: ["now", "run", ...e.argv].map(shellQuote).join(" "),
        });
        break;
      case "deployment":
        this.s.deployment.run({
          trial: id, os_system: e.os.system, os_release: e.os.release, os_version: e.os.version,
          os_name: e.os.name, hostname: e.hostname, machine: e.machine,
          py_implementation: e.python.implementation, py_version: e.python.version,
          py_executable: e.python.executable, py_prefix: e.python.prefix,
        });
        {
          const redacted = new Set(e.redacted);
          for (const [name, value] of Object.entries(e.env)) {
            this.s.env.run(id, name, String(value), redacted.has(name) ? 1 : 0);
          }
        }
        break;
      case "code":
        this.s.code.run(id, e.code, this.rel(e.file), e.name, e.qualname, e.line,
          e.kind ?? (e.name === "<module>" ? "module" : "function"));
        break;
      case "call":
        this.pending.set(e.id, e);
        break;
      case "return": {
        const c = this.pending.get(e.id);
        if (c) {
          this.pending.delete(e.id);
          this.s.whole.run(id, c.id, c.code, c.parent, c.t, JSON.stringify(c.args), e.t, "returned", e.value, null, null);
        } else {
          this.s.ret.run(e.t, e.value, id, e.id);
        }
        break;
      }
      case "raise": {
        const c = this.pending.get(e.id);
        if (c) {
          this.pending.delete(e.id);
          this.s.whole.run(id, c.id, c.code, c.parent, c.t, JSON.stringify(c.args), e.t, "raised", null, e.exc.type, e.exc.message);
        } else {
          this.s.raise.run(e.t, e.exc.type, e.exc.message, id, e.id);
        }
        break;
      }
      case "yield":
        this.writePending(e.id);
        this.s.yld.run(id, e.id);
        break;
      case "resume":
        this.s.resume.run(id, e.id);
        break;
      case "open":
        this.s.open.run(id, e.id, e.activation, this.rel(e.path), e.mode, e.hash_before, e.t);
        break;
      case "close":
        this.s.close.run(e.hash_after, e.t, e.at_exit ? 1 : 0, id, e.id);
        break;
      case "module":
        this.s.module.run(id, e.name, e.version, e.path === null ? null : this.rel(e.path), e.hash, e.local ? 1 : 0);
        break;
      case "value":
      case "returned": {
        const kind = e.e === "value" ? e.kind : "return";
        const target = e.e === "value" ? e.target : "return";
        const col = e.e === "value" ? e.col : null;
        this.s.value.run(id, e.id, e.act, e.line, col, target, kind, e.value, 1);
        for (const d of e.deps ?? []) this.s.dep.run(id, e.id, "value", d);
        for (const a of e.calls ?? []) this.s.dep.run(id, e.id, "activation", a);
        for (const f of e.files ?? []) this.s.dep.run(id, e.id, "file", f);
        break;
      }
      case "elided":
        this.s.value.run(id, e.id, e.act, e.line, null, e.target, "elided", null, e.count);
        break;
      case "alias":
        this.s.alias.run(e.to, id, e.id);
        break;
      case "unknown":
        this.s.unknown.run(id, e.act, e.line, e.reason);
        break;
      case "calls_elided":
        this.s.callsElided.run(e.count, id, e.code);
        break;
      case "output":
        this.s.output.run(e.stdout, e.stderr, id);
        break;
      case "warning":
        this.s.warning.run(id, ++this.warnings, e.message);
        break;

      case "end":
        this.s.endEv.run(e.exit_code, e.t, e.exception?.type ?? null, e.exception?.message ?? null,
          e.exception ? JSON.stringify(e.exception.traceback.map((f) => ({ ...f, file: this.rel(f.file) }))) : null, id);
        break;
      default:
        // Unknown event types are skipped: the format allows additions within a version.
        break;
    }
  }
}
