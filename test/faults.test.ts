// The fault-injection suite, light version (issue 14): kill -9 of the tracer, of `now run`
// and of the daemon at random points of a call-heavy, file-writing script (42 attempts,
// 4 readers at once after each), 8 concurrent `now run` with a daemon, and a full disk in
// a user and mount namespace. Seeds are fixed (test/faults/scenarios.ts); every scenario
// prints "tried N, held N, lost 0" and the total is printed at the end. The heavy version
// (more rounds, a 10 M-activation trial) is `npm run test:faults` (test/faults/heavy.test.ts).
// See test/faults/README.md.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { LIGHT, selected } from "./faults/scenarios";
import { log, runScenario, total } from "./faults/run";
import type { Tally } from "./faults/harness";

const tallies: Tally[] = [];
const suite = { name: "light" as const, command: "npm run build && node --test dist/test/faults.test.js" };

for (const s of selected(LIGHT)) {
  test(`faults (light): ${s.name}`, { timeout: 15 * 60_000 }, async () => {
    const tally = await runScenario(s, suite);
    tallies.push(tally);
    assert.equal(tally.failures.length, 0, tally.report());
    assert.equal(tally.lost, 0);
  });
}

after(() => log(total(tallies).line));
