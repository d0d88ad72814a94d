/**
 * Does `policy simulate --from-run` predict the daemon, interval by interval? Runs the real daemon
 * on the tiny job of the tests (wasm) with a replayed trace whose 30-minute intervals last
 * `--interval` wall seconds, with a linear policy and then a budget one, and replays each run
 * through the simulator. Prints, per trace interval, the steps simulated and measured and the
 * error as a share of a whole interval's steps at that intensity; the machine's pace in the
 * interval (the mean wall time between its steps ÷ the run's mean at the same ρ: what
 * no model of the trainer predicts) and the error once the measured steps are scaled to the mean
 * pace; then the finish error, and the error in the time spent running (the finish less the time
 * paused: a budget policy's finish moves by a whole interval when the job's end crosses one).
 *
 *   npm run bench:predict [-- --interval 30 --linear-steps 20000 --budget-steps 10000 --json]
 *
 * The test (`test/daemon/schedule.test.ts`) runs the same comparison with 6 s intervals.
 */
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/select.js';
import {
  finishTimes,
  type Interval,
  type PredictionPolicy,
  runAndSimulate,
  wholeInterval,
} from '../test/helpers/prediction.js';

const { values } = parseArgs({
  options: {
    interval: { type: 'string', default: '30' },
    'linear-steps': { type: 'string', default: '20000' },
    'budget-steps': { type: 'string', default: '10000' },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(
    'npm run bench:predict [-- --interval SECONDS (30) --linear-steps N (20000) --budget-steps N (10000) --only linear|budget --json]',
  );
  process.exit(0);
}
const positive = (flag: string, text: string) => {
  const n = Number(text);
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`--${flag} ${text}: expected a whole number above 0`);
  return n;
};
const intervalS = positive('interval', values.interval);
const stepsOf = {
  linear: positive('linear-steps', values['linear-steps']),
  budget: positive('budget-steps', values['budget-steps']),
};
const kinds = (values.only?.split(',') ?? ['linear', 'budget']) as PredictionPolicy[];
for (const k of kinds) if (!(k in stepsOf)) throw new Error(`--only ${k}: expected linear or budget`);

interface Outcome {
  readonly policy: PredictionPolicy;
  readonly steps: number;
  readonly finish_error: number;
  /** The error in the time spent running: the finish less the time paused. */
  readonly running_error: number;
  readonly paused_s: { readonly simulated: number; readonly measured: number };
  readonly rows: Array<Interval & { error: number; paced_error: number }>;
  readonly within_10: number;
  readonly paced_within_10: number;
  readonly whole_intervals: number;
}

async function runOne(kind: PredictionPolicy): Promise<Outcome> {
  const steps = stepsOf[kind];
  const { sim } = await runAndSimulate(kind, {
    intervalS,
    train: `epochs: 1000, max_steps: ${steps}`,
    selectionInterval: steps + 1,
  });
  const t = finishTimes(sim);
  const finishError = t.simulatedMs / t.measuredMs - 1;
  const runningError = t.simulatedRunMs / t.measuredRunMs - 1;
  const last = sim.intervals.findLastIndex((i) => i.steps > 0 || i.measured_steps > 0);
  const intervals = sim.intervals.slice(0, last + 1);
  const whole = wholeInterval(intervals);
  const rows = intervals.map((i) => ({
    ...i,
    error: (i.steps - i.measured_steps) / whole(i.intensity),
    // At the run's mean pace: the measured steps × the machine's pace in the interval.
    paced_error: (i.steps - i.measured_steps * (i.machine_pace ?? 1)) / whole(i.intensity),
  }));
  // Whole intervals: after the first with steps (the trainer starts inside it), before the last.
  const first = rows.findIndex((r) => r.measured_steps > 0);
  const inner = rows.slice(first + 1, -1);
  return {
    policy: kind,
    steps,
    finish_error: finishError,
    running_error: runningError,
    paused_s: { simulated: sim.policy.paused_s, measured: sim.measured.paused_s },
    rows,
    within_10: inner.filter((r) => Math.abs(r.error) <= 0.1).length,
    paced_within_10: inner.filter((r) => Math.abs(r.paced_error) <= 0.1).length,
    whole_intervals: inner.length,
  };
}

await initBackend({ backend: 'wasm' });
const outcomes: Outcome[] = [];
for (const kind of kinds) outcomes.push(await runOne(kind));
if (values.json) console.log(JSON.stringify({ interval_s: intervalS, outcomes }, null, 2));
else
  for (const o of outcomes) {
    console.log(
      `\n${o.policy} policy, ${o.steps} steps, ${intervalS} s per trace interval: finish simulated ${pct(o.finish_error)} against measured ` +
        `(running time ${pct(o.running_error)}; paused ${o.paused_s.simulated.toFixed(1)} s simulated, ${o.paused_s.measured.toFixed(1)} s measured); ` +
        `whole intervals within ±10 %: ${o.within_10} of ${o.whole_intervals} as measured, ${o.paced_within_10} at the machine's mean pace`,
    );
    console.log('interval  g/kWh  simulated  measured  error  machine pace  error at mean pace');
    for (const [k, r] of o.rows.entries())
      console.log(
        `${String(k).padStart(8)}  ${String(r.intensity).padStart(5)}  ${String(r.steps).padStart(9)}  ${String(r.measured_steps).padStart(8)}  ${pct(r.error).padStart(7)}  ${(r.machine_pace == null ? '–' : r.machine_pace.toFixed(2)).padStart(12)}  ${pct(r.paced_error).padStart(18)}`,
      );
  }
console.log(
  '\nerror: (simulated − measured) ÷ a whole interval’s steps at that intensity; machine pace: the interval’s mean wall time between steps ÷ the run’s at the same ρ',
);

function pct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;
}
