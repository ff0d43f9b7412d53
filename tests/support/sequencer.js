/**
 * jest's order (failed last time first, then longest first by the last run's durations, or by
 * file size before any), with the tiers ahead of that: process tests, which take half a
 * minute to minutes each, start before the integration tests, and the unit tests fill the
 * end. A two-worker run then never waits at its end for one long process test that happened
 * to start late.
 */
'use strict';
const Sequencer = require('@jest/test-sequencer').default;

const RANK = { process: 0, integration: 1, unit: 2 };
const rank = (test) => RANK[test.context.config.displayName?.name] ?? 1;

class TierSequencer extends Sequencer {
  sort(tests) {
    const failed = (test) => (this.hasFailed(test) ? 0 : 1);
    // Array.prototype.sort is stable: within a tier, jest's own order stays.
    return super.sort(tests).sort((a, b) => failed(a) - failed(b) || rank(a) - rank(b));
  }
}

module.exports = TierSequencer;
