import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Failure, Supervisor, type TrainerState } from '../../src/daemon/supervisor.js';
import { type Job, readJob } from '../../src/train/job.js';

const ENTRY = new URL('fixtures/fake-trainer.ts', import.meta.url).pathname;

/** Runs the fake trainer's scenario under a supervisor until the job is over. */
async function play(scenario: string, maxRestarts: number) {
  process.env.GT_FAKE_TRAINER = scenario;
  process.env.GT_FAKE_RUNS = join(mkdtempSync(join(tmpdir(), 'gt-sup-')), 'runs');
  const s = new Supervisor({ name: 'fake' } as Job, {
    maxRestarts,
    backoffMs: { initial: 20, max: 80 },
    entry: ENTRY,
  });
  const failures: Failure[] = [];
  const states: Array<[TrainerState, string]> = [];
  s.on('failure', (f) => failures.push(f));
  const over = new Promise<[TrainerState, string]>((resolve) =>
    s.on('state', (state, why) => {
      states.push([state, why]);
      if (state === 'finished' || state === 'failed') resolve([state, why]);
    }),
  );
  s.start(1, false);
  const [state, why] = await over;
  return { state, why, failures, states, failure: s.failure };
}

describe('daemon/supervisor: failures and the restart budget', function () {
  this.timeout(60_000);
  afterEach(() => {
    delete process.env.GT_FAKE_TRAINER;
    delete process.env.GT_FAKE_RUNS;
  });

  it('a loop that trains but never checkpoints (a full disk) backs off, then fails with the reason and path', async () => {
    const r = await play('no-checkpoint', 2);
    assert.equal(r.state, 'failed');
    assert.match(
      r.why,
      /^3 failures without progress past the checkpoint at step 10 \(last: transient failure: not enough space to checkpoint in \/runs\/x\/checkpoints/,
    );
    assert.deepEqual(
      r.failures.map((f) => [f.kind, f.attempt, f.retryAt === null]),
      [
        ['transient', 1, false],
        ['transient', 2, false],
        ['transient', 3, true],
      ],
    );
    assert.deepEqual(r.failure?.kind, 'transient');
  });

  it('a permanent error before the job opens fails at once, without a restart', async () => {
    const r = await play('bad-model', 5);
    assert.equal(r.state, 'failed');
    assert.equal(r.why, 'the job cannot start: model/config.json: no such file');
    assert.deepEqual(
      r.failures.map((f) => f.kind),
      ['permanent'],
    );
    assert.equal(r.states.filter(([s]) => s === 'restarting').length, 0);
  });

  it('crashes after progress past the last checkpoint never exhaust the budget', async () => {
    const r = await play('progress', 1);
    assert.equal(r.state, 'finished', r.why);
    assert.deepEqual(
      r.failures.map((f) => [f.kind, f.attempt]),
      [
        ['crash', 1],
        ['crash', 1],
        ['crash', 1],
      ],
    );
    assert.equal(r.failure, undefined, 'cleared by the checkpoints');
  });

  it('a job whose lengths exceed the model positions fails at open in the real trainer, without a restart', async () => {
    const job = readJob(
      new URL('../fixtures/bad/jobs/lengths-exceed-positions.yaml', import.meta.url).pathname,
    );
    const s = new Supervisor(job, { maxRestarts: 5, backoffMs: { initial: 20, max: 80 } });
    const failures: Failure[] = [];
    s.on('failure', (f) => failures.push(f));
    const over = new Promise<[TrainerState, string]>((resolve) =>
      s.on('state', (state, why) => {
        if (state === 'finished' || state === 'failed') resolve([state, why]);
      }),
    );
    s.start(1, false);
    const [state, why] = await over;
    assert.equal(state, 'failed');
    assert.match(
      why,
      /^the job cannot start: the job does not fit its model .*demo\/model:\n {2}train\.max_input_length/,
    );
    assert.deepEqual(
      failures.map((f) => f.kind),
      ['permanent'],
    );
  });
});
