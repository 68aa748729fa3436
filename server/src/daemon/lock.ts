import fs from "fs";
import { processAlive } from "../run/recover";

/**
 * One daemon per root: a lock file created exclusively holds the owner's pid. A lock whose
 * owner is dead (a daemon killed with SIGKILL) is stale and taken over.
 */
export function acquireLock(file: string): { ok: true } | { ok: false; pid: number } {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, "wx", 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return { ok: true };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const pid = Number(readOr(file, "0"));
    if (pid && pid !== process.pid && processAlive(pid)) return { ok: false, pid };
    // Stale: its owner is gone. Removing it can race with another starter; the exclusive
    // create above settles who wins.
    fs.rmSync(file, { force: true });
  }
  return { ok: false, pid: Number(readOr(file, "0")) };
}

export function releaseLock(file: string): void {
  if (readOr(file, "") === String(process.pid)) fs.rmSync(file, { force: true });
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    return fallback;
  }
}
