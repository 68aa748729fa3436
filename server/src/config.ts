import fs from "fs";
import path from "path";
import { NowError } from "./errors";
import { nowDir } from "./paths";

/**
 * Per-project settings, `.now/config` (JSON). Every key is optional; a command-line
 * option wins over the file.
 */
export interface ProjectConfig {
  /** Record fine-grained values and dependencies by default (`now run --fine`). */
  fine: boolean;
  /** Values kept at each end of a loop, per line and target (`--loop-keep`). */
  loop_keep: number;
  /** Coarse mode: activations recorded per function, the rest counted (`--calls-keep`; 0: all). */
  calls_keep: number;
  /**
   * Types (`module.QualName`) whose own `__repr__` the tracer may call; by default it
   * never runs the script's code to describe a value.
   */
  repr_types: string[];
}

export const DEFAULT_CONFIG: ProjectConfig = { fine: false, loop_keep: 3, calls_keep: 1000, repr_types: [] };

export function readConfig(root: string): ProjectConfig {
  const file = path.join(nowDir(root), "config");
  if (!fs.existsSync(file)) return { ...DEFAULT_CONFIG };
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new NowError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new NowError(`${file}: expected a JSON object`);
  const cfg = { ...DEFAULT_CONFIG };
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key === "fine") {
      if (typeof value !== "boolean") throw new NowError(`${file}: "fine" must be true or false`);
      cfg.fine = value;
    } else if (key === "loop_keep") {
      cfg.loop_keep = checkLoopKeep(value, `${file}: "loop_keep"`);
    } else if (key === "calls_keep") {
      cfg.calls_keep = checkCallsKeep(value, `${file}: "calls_keep"`);
    } else if (key === "repr_types") {
      const ok = Array.isArray(value) && value.every((t) => typeof t === "string" && /^[A-Za-z_][\w.]*$/.test(t));
      if (!ok) throw new NowError(`${file}: "repr_types" must be a list of type names such as "mypkg.Money"`);
      cfg.repr_types = value as string[];
    } else {
      throw new NowError(`${file}: unknown setting "${key}" (known: ${Object.keys(DEFAULT_CONFIG).join(", ")})`);
    }
  }
  return cfg;
}

export function checkLoopKeep(value: unknown, what: string): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 1000) throw new NowError(`${what} must be a whole number from 1 to 1000`);
  return n;
}

export function checkCallsKeep(value: unknown, what: string): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 1e9) {
    throw new NowError(`${what} must be a whole number, 0 (record every activation) or more`);
  }
  return n;
}
