// The fault-injection suite, heavy version: `npm run test:faults` (built first; CI runs it
// after `npm test`). The scenarios are HEAVY in scenarios.ts: 100 kill attempts (tracer, `now run`,
// daemon; also while a daemon follows), 20 rounds of 8 concurrent `now run` with a daemon,
// the full disk with more fill levels, and one trial of 10 M activations with the peak RSS
// of `now run` printed. Run directly with node so its report prints as it goes.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { HEAVY, selected } from "./scenarios";
import { log, runScenario, total } from "./run";
import type { Tally } from "./harness";

const tallies: Tally[] = [];
const suite = { name: "heavy" as const, command: "npm run test:faults" };

for (const s of selected(HEAVY)) {
  test(`faults (heavy): ${s.name}`, { timeout: 60 * 60_000 }, async () => {
    const tally = await runScenario(s, suite);
    tallies.push(tally);
    assert.equal(tally.failures.length, 0, tally.report());
    assert.equal(tally.lost, 0);
  });
}

after(() => log(total(tallies).line));
