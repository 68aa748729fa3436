// A full disk degrades a trial, never the script: `now run` exits with the script's code and
// one line saying what could not be recorded, and works again once space is back. The
// project lives on a small tmpfs mounted in a user and mount namespace (`unshare -rm`), so
// nothing outside the test sees it.
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { test } from "node:test";
import { NOW, PYTHON } from "./helpers";

/** Runs `steps` (shell) in a namespace with a `size` tmpfs at $P; null when the kernel refuses. */
function inTmpfs(size: string, steps: string): { out: string; status: number | null } | null {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), "nowls-full-"));
  const script = `set -u\nmount -t tmpfs -o size=${size} tmpfs "$P" || exit 99\ncd "$P"\n${steps}`;
  const r = spawnSync("unshare", ["-rm", "sh", "-c", script], {
    encoding: "utf8", env: { ...process.env, P: mnt, NOW, NOW_PYTHON: PYTHON },
  });
  fs.rmSync(mnt, { recursive: true, force: true });
  if (r.error || r.status === 99 || /unshare: /.test(r.stderr)) return null;
  return { out: r.stdout + r.stderr, status: r.status };
}

function skipUnlessNamespaces(t: { skip: (m: string) => void }, r: unknown): boolean {
  if (r !== null) return false;
  assert.notEqual(process.env.CI, "true", "unshare -rm refused: CI must allow user and mount namespaces");
  t.skip("the kernel refuses user and mount namespaces here (unshare -rm)");
  return true;
}

const SCRIPT = `cat > s.py <<'PY'
import os, sys
def f(i):
    return i
for i in range(5000):
    f(i)
try:
    with open("big.bin", "wb") as out:
        while True:
            out.write(b"x" * 65536)
except OSError as e:
    print("disk full:", e.errno)
for i in range(5000):
    f(i)
os.remove("big.bin")
print("done")
sys.exit(int(sys.argv[1]))
PY
mkdir .git
`;

test("the script fills the disk mid-run: its output and exit code as untraced, the record marked incomplete", (t) => {
  const r = inTmpfs("3m", SCRIPT + `
# stderr into the pipe: a file on the full disk could not hold it
node "$NOW" run s.py 0 2>&1; echo "exit=$?"
node "$NOW" run s.py 5 2>&1; echo "exit=$?"
$NOW_PYTHON s.py 5 2>&1; echo "plain=$?"
node "$NOW" list; echo "list=$?"
`);
  if (skipUnlessNamespaces(t, r)) return;
  const out = r!.out;
  assert.match(out, /disk full: 28\ndone\nnow: trial 1 finished in .*, record incomplete: event log: \[Errno 28\] No space left on device .*\(now show 1\)\nexit=0\n/);
  assert.match(out, /disk full: 28\ndone\nnow: trial 2 failed \(5\) in .*, record incomplete: .*\(now show 2\)\nexit=5\n/);
  assert.match(out, /disk full: 28\ndone\nplain=5/);
  assert.match(out, /1 +s\.py +0 .* finished, incomplete .*\n2 +s\.py +5 .* failed \(5\), incomplete/);
  assert.match(out, /list=0/);
  assert.doesNotMatch(out, /Traceback|Error: |\n +at /);
});

test("a disk already full: the script runs untraced with one line; once space is back the next run is recorded", (t) => {
  const r = inTmpfs("2m", SCRIPT + `
node "$NOW" run s.py 0 >/dev/null 2>&1
head -c 10M /dev/zero > filler 2>/dev/null
node "$NOW" run s.py 4 2>&1; echo "exit=$?"
rm filler
node "$NOW" run s.py 2 2>&1; echo "exit=$?"
node "$NOW" list; echo "list=$?"
`);
  if (skipUnlessNamespaces(t, r)) return;
  const out = r!.out;
  assert.match(out, /done\nnow: not recorded: .*; the script ran untraced and exited with 4\nexit=4\n/);
  assert.match(out, /done\nnow: trial 2 failed \(2\) in .*\(now show 2\)\nexit=2\n/);
  assert.match(out, /list=0/);
  assert.doesNotMatch(out, /Traceback|Error: |\n +at /);
});
