import { strict as assert } from 'node:assert';
import type { Trace } from '../../src/carbon/trace-file.js';
import { machinePace, measureRun } from '../../src/commands/from-run.js';
import type { RunLogRecord } from '../../src/daemon/run-log.js';

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();
const trace: Trace = {
  source: 'test',
  unit: 'gCO2eq/kWh',
  kind: 'average',
  points: [
    { time: new Date(T0), intensity: 100 },
    { time: new Date(T0 + 3_600_000), intensity: 100 },
  ],
};

/**
 * A run log: a start, its selection, then `rhos.length` steps back to back, step k taking
 * `seconds[k]` of wall time (and as much by the trainer's timer); a selection record before the
 * steps listed in `selectAt`.
 */
function log(
  rhos: readonly number[],
  seconds: readonly number[],
  selectAt: readonly number[] = [],
): RunLogRecord[] {
  const records: RunLogRecord[] = [
    {
      type: 'start',
      time: iso(T0),
      step: 0,
      total_steps: rhos.length,
      rho_floor: 0.3,
      interval_steps: 1000,
      checkpoint_steps: 0,
    },
    { type: 'selection', time: iso(T0), step: 0, rho: rhos[0]!, ratio: rhos[0]!, seconds: 0 },
  ];
  let t = T0;
  for (const [k, rho] of rhos.entries()) {
    if (selectAt.includes(k))
      records.push({ type: 'selection', time: iso(t), step: k, rho, ratio: rho, seconds: 0.5 });
    t += seconds[k]! * 1000;
    records.push({
      type: 'step',
      time: iso(t),
      step: k + 1,
      rho,
      flops: rho * 1e9,
      full_flops: 1e9,
      joules: 1,
      seconds: seconds[k]!,
    });
  }
  return records;
}

describe('policy simulate --from-run: the machine pace per interval', () => {
  const priors = { powerIdleW: 0, powerRunW: 100 };

  it('leaves out the warm-up and each re-selection’s two steps, keeping the rest’s wall time', () => {
    const n = 100;
    const seconds = Array.from({ length: n }, (_, k) => (k < 20 ? 0.5 : k === 60 || k === 61 ? 0.9 : 0.1));
    const m = measureRun(log(Array(n).fill(0.5), seconds, [60]), trace, priors);
    assert.equal(m.plainSteps.length, n - 20 - 2);
    assert.ok(m.plainSteps.every((s) => Math.abs(s.seconds - 0.1) < 1e-9));
  });

  it('counts the wall time between steps that the trainer’s own timer misses, but not a pause', () => {
    // Steps 40-59 each took 0.1 s by the trainer's timer and 0.3 s of wall time (a slow disk under
    // the checkpoints, a stalled host); a pause of 60 s before step 80.
    const n = 100;
    const records = log(Array(n).fill(0.5), Array(n).fill(0.1));
    let shift = 0;
    const shifted = records.flatMap((r): RunLogRecord[] => {
      if (r.type !== 'step') return [r];
      if (r.step > 40 && r.step <= 60) shift += 200;
      const pause: RunLogRecord[] =
        r.step === 80
          ? [
              {
                type: 'decision',
                time: iso(Date.parse(r.time) + shift - 100),
                rho: 0.5,
                pause: true,
                reason: '',
              },
              {
                type: 'decision',
                time: iso(Date.parse(r.time) + shift + 59_900),
                rho: 0.5,
                pause: false,
                reason: '',
              },
            ]
          : [];
      if (r.step === 80) shift += 60_000;
      return [...pause, { ...r, time: iso(Date.parse(r.time) + shift) }];
    });
    const m = measureRun(shifted, trace, priors);
    const gap = (step: number) => m.plainSteps.find((s) => s.end === m.stepEnds[step - 1])?.seconds;
    assert.ok(Math.abs(gap(45)! - 0.3) < 1e-9, String(gap(45)));
    assert.ok(Math.abs(gap(30)! - 0.1) < 1e-9, String(gap(30)));
    assert.equal(gap(80), undefined, 'the first step after the resume has no gap');
    assert.ok(Math.abs(gap(81)! - 0.1) < 1e-9, String(gap(81)));
    const [slow, plain] = machinePace(m, [
      { from: m.stepEnds[40]!, to: m.stepEnds[59]! + 1 },
      { from: m.stepEnds[80]!, to: m.stepEnds[99]! + 1 },
    ]);
    assert.ok(Math.abs(slow! / plain! - 3) < 1e-9, `${slow} ${plain}`);
  });

  it('is 1 at the run’s mean pace whatever ρ costs, 1.5 where the same steps took 1.5× as long, none with under 10 steps', () => {
    // 0.1 s steps at ρ 0.5 and 0.2 s at ρ 1, alternating every 50 steps; steps 120-149 (ρ 0.5)
    // run 1.5× slower.
    const rhos = Array.from({ length: 220 }, (_, k) => (Math.floor(k / 50) % 2 === 0 ? 0.5 : 1));
    const seconds = rhos.map((rho, k) => (rho === 1 ? 0.2 : k >= 120 && k < 150 ? 0.15 : 0.1));
    const m = measureRun(log(rhos, seconds), trace, priors);
    const end = (k: number) => m.stepEnds[k]!;
    const [first, slow, atOne, few] = machinePace(m, [
      { from: end(20), to: end(49) + 1 }, // ρ 0.5: steps 20-49 (0-19 warm up)
      { from: end(120), to: end(149) + 1 }, // the slow stretch
      { from: end(50), to: end(99) + 1 }, // ρ 1: 0.2 s is its mean
      { from: end(200), to: end(205) }, // 5 steps
    ]);
    // ρ 0.5's mean over its plain steps: 30 of them at 0.15 s, the rest at 0.1 s.
    const plain05 = m.plainSteps.filter((s) => s.rho === 0.5);
    const mean05 = plain05.reduce((a, s) => a + s.seconds, 0) / plain05.length;
    assert.ok(Math.abs(first! - 0.1 / mean05) < 1e-9, String(first));
    assert.ok(Math.abs(slow! - 0.15 / mean05) < 1e-9, String(slow));
    assert.ok(Math.abs(slow! / first! - 1.5) < 1e-9);
    assert.ok(Math.abs(atOne! - 1) < 1e-9, String(atOne));
    assert.equal(few, undefined);
  });
});
