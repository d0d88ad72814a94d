/**
 * The policy language: the `policy:` block of the daemon config, or a standalone policy file
 * holding the same block (with or without a top-level `policy:` key). zod validates it; the
 * messages say what was expected, and `load.ts` adds the file, line and column.
 */
import { z } from 'zod';
import { durationMs, formatDurationMs } from '../config/duration.js';

const intensity = z.number().nonnegative({ message: 'intensities are ≥ 0' });
const rho = z.number().gt(0, { message: 'ρ must be in (0, 1]' }).lte(1, { message: 'ρ must be in (0, 1]' });
const point = z.tuple([intensity, rho], { message: 'expected a pair [intensity, ρ]' });

/** Points whose intensities strictly increase and whose ρ never increases. */
const monotone = (what: string) => (points: readonly (readonly [number, number])[], ctx: z.RefinementCtx) => {
  for (let k = 1; k < points.length; k++) {
    const [i0, r0] = points[k - 1]!;
    const [i1, r1] = points[k]!;
    if (i1 <= i0)
      ctx.addIssue({
        code: 'custom',
        path: [k, 0],
        message: `${what} intensities must increase: ${i1} after ${i0}`,
      });
    if (r1 > r0)
      ctx.addIssue({
        code: 'custom',
        path: [k, 1],
        message: `ρ must not rise with intensity: ${r1} after ${r0}`,
      });
  }
};

export const linearMap = z.strictObject({
  type: z.literal('linear'),
  /** [intensity, ρ]: ρ is interpolated between points and held flat beyond the ends. */
  points: z
    .array(point)
    .min(2, { message: 'a linear map needs at least two points' })
    .superRefine(monotone('point')),
});

export const stepsMap = z
  .strictObject({
    type: z.literal('steps'),
    /** ρ below the first threshold. */
    default: rho.default(1),
    /** [threshold, ρ]: at or above the threshold, that ρ. */
    steps: z
      .array(point)
      .min(1, { message: 'expected at least one step' })
      .superRefine(monotone('threshold')),
  })
  .superRefine((m, ctx) => {
    const first = m.steps[0];
    if (first && m.default < first[1])
      ctx.addIssue({
        code: 'custom',
        path: ['default'],
        message: `ρ must not rise with intensity: default ${m.default} (below ${first[0]}) is under the first step's ${first[1]}`,
      });
  });

/** A key that was removed: accepted by the parser only to say what replaced it. */
const removed = (message: string) =>
  z
    .unknown()
    .optional()
    .superRefine((v, ctx) => {
      if (v !== undefined) ctx.addIssue({ code: 'custom', message });
    });

/** A second: the daemon polls no faster (tests replay traces at a planning step of seconds). */
const MIN_INTERVAL_MS = 1000;
/** Intervals one plan may hold: the planner allocates per interval (30m over 208 days). */
export const MAX_PLAN_INTERVALS = 10_000;

/** A horizon of `horizonMs` planned in steps of `intervalMs`, if too many (issues at `deadline`). */
function planningIssues(horizonMs: number, intervalMs: number): PathIssue[] {
  const intervals = Math.ceil(horizonMs / intervalMs);
  if (intervals <= MAX_PLAN_INTERVALS) return [];
  return [
    {
      path: ['deadline'],
      message: `${formatDurationMs(horizonMs)} ahead in ${formatDurationMs(intervalMs)} intervals is ${intervals} intervals, over the planner's limit of ${MAX_PLAN_INTERVALS}: lengthen map.interval or shorten the deadline`,
    },
  ];
}

const isoTime = z.iso.datetime({ offset: true });

/** An ISO time (kept as written), or a duration after the first evaluation in ms. */
const deadline = z.union([z.string(), z.number()]).transform((v, ctx) => {
  if (typeof v === 'string' && isoTime.safeParse(v).success) return v;
  const ms = durationMs.safeParse(v);
  if (ms.success) return ms.data;
  ctx.addIssue({
    code: 'custom',
    message:
      typeof v === 'string' && /^\d{4}-/.test(v)
        ? `expected an ISO time with an offset, e.g. 2026-12-01T18:00:00Z, got '${v}'`
        : ms.error.issues[0]!.message,
  });
  return z.NEVER;
});

/** A problem at a path relative to the schema that finds it. */
interface PathIssue {
  readonly path: PropertyKey[];
  readonly message: string;
}

const NO_THROTTLE =
  'removed: ρ is not a throttle (a lower ρ finishes the same steps sooner); the planner measures the trainer instead. Give min_mean_rho or budget_g (README: How ρ meets the clock)';

export const budgetMap = z
  .strictObject({
    type: z.literal('budget'),
    /** An ISO time, or a duration after the first evaluation (`72h`). */
    deadline,
    /** Quality target: the step-weighted mean ρ the job must keep; CO2e is minimised. */
    min_mean_rho: rho.optional(),
    /** Or: grams of CO2e the job's training may emit from now on; mean ρ is maximised. */
    budget_g: z.number().positive({ message: 'budget_g must be > 0 grams' }).optional(),
    /** Planning step; forecasts are averaged over it. */
    interval: durationMs.prefault('30m').refine((ms) => ms >= MIN_INTERVAL_MS, {
      message: `the planning interval must be at least ${formatDurationMs(MIN_INTERVAL_MS)} (30m is typical)`,
    }),
    flops_per_second: removed(NO_THROTTLE),
    job_flops: removed(`${NO_THROTTLE}; the job's steps come from the trainer or --steps`),
  })
  .superRefine((m, ctx) => {
    if (typeof m.deadline === 'number') {
      if (m.deadline <= 0)
        ctx.addIssue({ code: 'custom', path: ['deadline'], message: 'the deadline must be after now' });
      else for (const i of planningIssues(m.deadline, m.interval)) ctx.addIssue({ code: 'custom', ...i });
    }
    if ((m.min_mean_rho === undefined) === (m.budget_g === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'a budget map needs exactly one of min_mean_rho (e.g. 0.6) or budget_g (grams of CO2e)',
      });
  });

/** ±50 %: resume_below (pause_above × (1 − hysteresis)) stays at least half of pause_above. */
const MAX_HYSTERESIS = 0.5;

const window = z
  .strictObject({
    /** `HH:MM` in `timezone`; a window may wrap midnight (`22:00`–`06:00`). */
    from: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'expected HH:MM' }),
    to: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'expected HH:MM' }),
    days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).optional(),
    rho_min: rho.optional(),
    rho_max: rho.optional(),
    pause: z.boolean().optional(),
  })
  .superRefine((w, ctx) => {
    if (w.rho_min !== undefined && w.rho_max !== undefined && w.rho_min > w.rho_max)
      ctx.addIssue({
        code: 'custom',
        path: ['rho_min'],
        message: `rho_min ${w.rho_min} is above rho_max ${w.rho_max}`,
      });
  });

const whenStale = z.union(
  [
    z.strictObject({ rho }),
    z.strictObject({ pause: z.literal(true) }),
    z.strictObject({ hold: z.literal(true) }),
  ],
  { message: 'expected one of { rho: <(0, 1]> }, { pause: true } or { hold: true }' },
);

export const policySchema = z
  .strictObject({
    /** The unit the map's intensities are in; readings in another unit are treated as missing. */
    unit: z.enum(['gCO2eq/kWh', 'percentile']).default('gCO2eq/kWh'),
    map: z.discriminatedUnion('type', [linearMap, stepsMap, budgetMap], {
      message: 'expected map.type linear, steps or budget',
    }),
    rho_min: rho.default(0.35),
    rho_max: rho.default(1),
    /** Relative intensity band: ρ moves only when intensity leaves ±hysteresis of where it last moved. */
    hysteresis: z
      .number()
      .min(0)
      .max(MAX_HYSTERESIS, {
        message: `hysteresis is a relative band, at most ${MAX_HYSTERESIS} (0.05 is typical): wider, ρ hardly moves and resume_below falls towards 0`,
      })
      .default(0),
    min_dwell: durationMs.prefault('0s'),
    pause_above: intensity
      .positive({ message: 'pause_above must be > 0: at 0 every reading pauses training' })
      .optional(),
    /** Default: pause_above × (1 − hysteresis). */
    resume_below: intensity.optional(),
    timezone: z.string().default('UTC'),
    windows: z.array(window).default([]),
    /** Readings older than this are stale even if the provider did not say so. */
    stale_after: durationMs.prefault('1h'),
    when_stale: whenStale.default({ hold: true }),
  })
  .superRefine((p, ctx) => {
    if (p.rho_min > p.rho_max)
      ctx.addIssue({
        code: 'custom',
        path: ['rho_min'],
        message: `rho_min ${p.rho_min} is above rho_max ${p.rho_max}`,
      });
    if (p.resume_below !== undefined && p.pause_above !== undefined && p.resume_below > p.pause_above)
      ctx.addIssue({
        code: 'custom',
        path: ['resume_below'],
        message: 'resume_below must not exceed pause_above',
      });
    if (p.unit === 'percentile') for (const i of percentileIssues(p)) ctx.addIssue({ code: 'custom', ...i });
    try {
      new Intl.DateTimeFormat('en', { timeZone: p.timezone });
    } catch {
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: `unknown time zone '${p.timezone}'` });
    }
  });

/** Intensities above 100 in a percentile policy: no reading can reach them. */
function percentileIssues(p: Policy): PathIssue[] {
  const points = p.map.type === 'linear' ? p.map.points : p.map.type === 'steps' ? p.map.steps : [];
  const key = p.map.type === 'linear' ? 'points' : 'steps';
  const at: Array<[PropertyKey[], number]> = points.map(([x], k) => [['map', key, k, 0], x]);
  if (p.pause_above !== undefined) at.push([['pause_above'], p.pause_above]);
  if (p.resume_below !== undefined) at.push([['resume_below'], p.resume_below]);
  return at
    .filter(([, x]) => x > 100)
    .map(([path, x]) => ({
      path,
      message: `${x} is above 100: with unit percentile, intensities are percentiles 0–100`,
    }));
}

/**
 * Rules that need the time now: an ISO deadline must lie ahead, within the planner's limit of
 * intervals. Paths are relative to the policy.
 */
export function policyTimeIssues(p: Policy, now: Date): PathIssue[] {
  if (p.map.type !== 'budget' || typeof p.map.deadline !== 'string') return [];
  const aheadMs = new Date(p.map.deadline).getTime() - now.getTime();
  if (aheadMs <= 0)
    return [
      {
        path: ['map', 'deadline'],
        message: `the deadline is ${formatDurationMs(-aheadMs)} before ${now.toISOString()}`,
      },
    ];
  return planningIssues(aheadMs, p.map.interval).map((i) => ({ ...i, path: ['map', 'deadline'] }));
}

export type Policy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
export type PolicyMap = Policy['map'];
export type TimeWindow = Policy['windows'][number];
