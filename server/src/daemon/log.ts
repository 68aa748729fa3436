import fs from "fs";

/** The daemon's log: one line per event, appended to .now/daemon.log. */
export class DaemonLog {
  private fd: number;

  constructor(file: string, private readonly echo = false) {
    this.fd = fs.openSync(file, "a", 0o600);
  }

  write(message: string): void {
    const line = `${new Date().toISOString()} [${process.pid}] ${message.replace(/\s*\n\s*/g, " ")}\n`;
    try {
      fs.writeSync(this.fd, line);
    } catch {
      // A full disk must not take the daemon down; the log is best effort.
    }
    if (this.echo) process.stderr.write(line);
  }

  close(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}
