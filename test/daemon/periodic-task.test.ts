import { strict as assert } from 'node:assert';
import { PeriodicTask } from '../../src/daemon/periodic-task.js';

/** A run that waits until released or aborted, recording how many are in flight at once. */
function gatedRuns() {
  const g = { started: 0, inFlight: 0, maxInFlight: 0, aborted: 0, release: () => {} };
  const run = (signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      g.started++;
      g.inFlight++;
      g.maxInFlight = Math.max(g.maxInFlight, g.inFlight);
      const end = () => {
        g.inFlight--;
        resolve();
      };
      g.release = end;
      signal.addEventListener('abort', () => {
        g.aborted++;
        end();
      });
    });
  return { g, run };
}

describe('daemon/periodic-task', () => {
  it('skips and reports a tick that finds the previous run in flight', async () => {
    const { g, run } = gatedRuns();
    let skipped = 0;
    const t = new PeriodicTask({
      schedule: '* * * * *',
      run,
      onSkip: () => skipped++,
      onError: (e) => assert.fail(String(e)),
    });
    const first = t.runNow();
    void t.runNow();
    void t.runNow();
    assert.equal(g.started, 1);
    assert.equal(skipped, 2);
    g.release();
    await first;
    const second = t.runNow();
    assert.equal(g.started, 2, 'once the run has ended, the next tick runs');
    assert.equal(g.maxInFlight, 1);
    g.release();
    await second;
  });

  it('runs on its cron schedule, never two at once, and stop() aborts the run in flight', async () => {
    const { g, run } = gatedRuns();
    let skipped = 0;
    const t = new PeriodicTask({
      schedule: '* * * * * *',
      run,
      onSkip: () => skipped++,
      onError: (e) => assert.fail(String(e)),
    });
    t.start();
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(g.started, 1, 'the first run hangs, so no other starts');
    assert.ok(skipped >= 1, `${skipped} ticks skipped`);
    const t0 = Date.now();
    await t.stop();
    assert.ok(Date.now() - t0 < 100, 'stop does not wait for the hung run');
    assert.equal(g.aborted, 1);
    assert.equal(g.maxInFlight, 1);
    await t.runNow();
    assert.equal(g.started, 1, 'nothing runs after stop');
  }).timeout(5000);

  it('passes a failed run to onError and runs again at the next tick', async () => {
    const errors: unknown[] = [];
    let n = 0;
    const t = new PeriodicTask({
      schedule: '* * * * *',
      run: async () => {
        n++;
        throw new Error('boom');
      },
      onSkip: assert.fail,
      onError: (e) => errors.push(e),
    });
    await t.runNow();
    await t.runNow();
    assert.equal(n, 2);
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ['boom', 'boom'],
    );
  });

  it('refuses an invalid cron expression', () => {
    assert.throws(
      () => new PeriodicTask({ schedule: '61 * * * *', run: async () => {}, onSkip() {}, onError() {} }),
    );
  });
});
