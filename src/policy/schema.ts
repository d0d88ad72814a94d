/**
 * The policy language: a map from carbon intensity to ρ (`linear` points or `steps`
 * thresholds), then modifiers — bounds, hysteresis, minimum dwell, pausing above a threshold,
 * time-of-day windows and a fallback for stale data. Validated with zod; unknown keys are errors.
 */
import { z } from 'zod';
import { Duration } from './duration.js';

const Rho = z.number().gt(0, 'ρ must be > 0').lte(1, 'ρ must be ≤ 1');
const Intensity = z.number().nonnegative('intensities are ≥ 0 g/kWh');

const Linear = z.strictObject({
  type: z.literal('linear'),
  /** [intensity, ρ] pairs with strictly increasing intensity; ρ is interpolated, flat outside. */
  points: z
    .array(z.tuple([Intensity, Rho]))
    .min(2, 'give at least two [intensity, ρ] points')
    .superRefine((pts, ctx) => {
      for (let i = 1; i < pts.length; i++) {
        if (pts[i]![0] <= pts[i - 1]![0])
          ctx.addIssue({
            code: 'custom',
            path: [i, 0],
            message: `intensities must increase: ${pts[i]![0]} follows ${pts[i - 1]![0]}`,
          });
      }
    }),
});

const Steps = z.strictObject({
  type: z.literal('steps'),
  /** The first step whose `below` exceeds the intensity applies; the last needs no `below`. */
  steps: z
    .array(z.strictObject({ below: Intensity.optional(), rho: Rho }))
    .min(1)
    .superRefine((steps, ctx) => {
      steps.forEach((s, i) => {
        const last = i === steps.length - 1;
        if (!last && s.below === undefined)
          ctx.addIssue({
            code: 'custom',
            path: [i, 'below'],
            message: 'every step but the last needs `below`',
          });
        const prev = steps[i - 1]?.below;
        if (prev !== undefined && s.below !== undefined && s.below <= prev)
          ctx.addIssue({
            code: 'custom',
            path: [i, 'below'],
            message: `thresholds must increase: ${s.below} follows ${prev}`,
          });
      });
    }),
});

const Window = z.strictObject({
  /** Days it applies on (default every day). */
  days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).optional(),
  /** "HH:MM" in UTC; a window may wrap midnight (from 22:00 to 06:00). */
  from: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected "HH:MM"'),
  to: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected "HH:MM"'),
  rho_min: Rho.optional(),
  rho_max: Rho.optional(),
  pause: z.boolean().optional(),
});

const WhenStale = z.union([
  z.strictObject({ rho: Rho }),
  z.strictObject({ pause: z.literal(true) }),
  z.literal('hold'),
]);

export const PolicyConfig = z
  .strictObject({
    map: z.discriminatedUnion('type', [Linear, Steps]),
    rho_min: Rho.default(0.3),
    rho_max: Rho.default(1),
    /** ρ changes smaller than this are ignored (suppresses flapping). */
    hysteresis: z.number().min(0).max(1).default(0.05),
    /** A ρ, once set, holds at least this long. */
    min_dwell: Duration.default(0),
    /** Pause training at or above this intensity; resume below `resume_below` (default: the same). */
    pause_above: Intensity.optional(),
    resume_below: Intensity.optional(),
    windows: z.array(Window).default([]),
    when_stale: WhenStale.default({ rho: 0.5 }),
  })
  .superRefine((p, ctx) => {
    if (p.rho_min > p.rho_max)
      ctx.addIssue({
        code: 'custom',
        path: ['rho_min'],
        message: `rho_min ${p.rho_min} exceeds rho_max ${p.rho_max}`,
      });
    if (p.resume_below !== undefined && p.pause_above !== undefined && p.resume_below > p.pause_above)
      ctx.addIssue({
        code: 'custom',
        path: ['resume_below'],
        message: 'resume_below must not exceed pause_above',
      });
  });

export type Policy = z.output<typeof PolicyConfig>;
