import { watch, type FSWatcher } from "chokidar";
import fs from "fs";
import ignore, { type Ignore } from "ignore";
import path from "path";
import type { DaemonLog } from "./log";

/** Folders never worth watching, whatever .gitignore says. */
const ALWAYS_IGNORED = new Set([".now", ".git", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache", ".pytest_cache"]);
/** Events closer together than this form one burst (a `git checkout` of 500 files). */
const BURST_MS = 50;

export interface FileEntry { path: string; size: number; mtimeMs: number }

/**
 * Every `*.py` under the root that is not ignored, kept up to date by chokidar. Changes are
 * collected for BURST_MS and handed over in one batch to `onBatch` (the indexer).
 */
export class ProjectWatcher {
  private watcher: FSWatcher | null = null;
  private readonly entries = new Map<string, FileEntry>();
  private pending = new Map<string, "add" | "change" | "unlink">();
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly gitignore: Ignore;
  onBatch: (changes: Map<string, "add" | "change" | "unlink">) => void = () => {};

  constructor(readonly root: string, private readonly log: DaemonLog) {
    this.gitignore = ignore();
    try {
      this.gitignore.add(fs.readFileSync(path.join(root, ".gitignore"), "utf8"));
    } catch {
      // no .gitignore
    }
  }

  /** Is this path (absolute) outside what we watch? Folders are checked too, to prune. */
  ignored(abs: string, isDir: boolean | undefined): boolean {
    const rel = path.relative(this.root, abs);
    if (!rel) return false;
    if (rel.startsWith("..")) return true;
    const parts = rel.split(path.sep);
    if (parts.some((p) => ALWAYS_IGNORED.has(p))) return true;
    // A virtual environment under any name: its folder holds pyvenv.cfg.
    if (isDir && fs.existsSync(path.join(abs, "pyvenv.cfg"))) return true;
    if (isDir === false && !rel.endsWith(".py")) return true;
    const posix = parts.join("/");
    return this.gitignore.ignores(isDir ? posix + "/" : posix);
  }

  async start(): Promise<void> {
    this.watcher = watch(this.root, {
      ignored: (p, stats) => this.ignored(p, stats ? stats.isDirectory() : undefined) || (!!stats && stats.isFile() && !p.endsWith(".py")),
      ignoreInitial: false,
      persistent: true,
      alwaysStat: true,
      // Symlinked folders can lead outside the project or loop.
      followSymlinks: false,
    });
    this.watcher.on("add", (p, st) => this.record(p, "add", st));
    this.watcher.on("change", (p, st) => this.record(p, "change", st));
    this.watcher.on("unlink", (p) => this.record(p, "unlink"));
    this.watcher.on("error", (e) => this.log.write(`watcher: ${(e as Error).message}`));
    await new Promise<void>((resolve) => this.watcher!.once("ready", () => resolve()));
    this.flush();
    this.log.write(`watching ${this.entries.size} Python files`);
  }

  private record(abs: string, kind: "add" | "change" | "unlink", st?: fs.Stats): void {
    if (!abs.endsWith(".py")) return;
    const rel = path.relative(this.root, abs).split(path.sep).join("/");
    if (kind === "unlink") this.entries.delete(rel);
    else this.entries.set(rel, { path: rel, size: st?.size ?? 0, mtimeMs: st?.mtimeMs ?? 0 });
    this.pending.set(rel, kind);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => this.flush(), BURST_MS);
  }

  private flush(): void {
    this.flushTimer = null;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      this.onBatch(batch);
    } catch (e) {
      this.log.write(`indexing a batch of ${batch.size} files failed: ${(e as Error).message}`);
    }
  }

  files(): FileEntry[] {
    return [...this.entries.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.watcher?.close();
  }
}
