/**
 * The daemon's one YAML config: carbon data, policy, the job, the HTTP server, logging, energy
 * metering and shutdown. Relative paths resolve against the config file's folder.
 */
import { dirname, resolve } from 'node:path';
import cron from 'node-cron';
import { z } from 'zod';
import { carbonConfigSchema } from '../carbon/config.js';
import { durationMs } from '../config/duration.js';
import { readYamlConfig } from '../config/yaml-file.js';
import { policySchema, policyTimeIssues } from '../policy/schema.js';
import { JobConfig, resolvePaths } from '../train/job.js';

const Listen = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9464')
  .transform((s) => {
    const i = s.lastIndexOf(':');
    return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  })
  .refine((l) => l.port <= 65_535, { message: 'expected a port from 0 to 65535' });

/** How often carbon data is polled unless `carbon.poll` says otherwise. */
export const DEFAULT_POLL = '*/5 * * * *';

export const DaemonConfig = z.strictObject({
  /** Carbon data (see the README's providers); offline default: co2js's annual world average. */
  carbon: carbonConfigSchema.prefault({ provider: 'co2js' }).superRefine((c, ctx) => {
    if (c.poll !== undefined && !cron.validate(c.poll))
      ctx.addIssue({
        code: 'custom',
        path: ['poll'],
        message: `invalid cron expression '${c.poll}' (5 fields, or 6 with seconds first, e.g. "${DEFAULT_POLL}")`,
      });
  }),
  policy: policySchema,
  job: JobConfig,
  server: z
    .strictObject({
      listen: Listen.prefault('127.0.0.1:9464'),
      /** Bearer token for control endpoints: a file (credentials directory) or an env var. */
      token_file: z.string().optional(),
      token_env: z.string().optional(),
    })
    .prefault({}),
  logging: z
    .strictObject({
      level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
      format: z.enum(['auto', 'json', 'pretty']).default('auto'),
    })
    .prefault({}),
  energy: z
    .strictObject({
      method: z.enum(['auto', 'nvml', 'rapl', 'estimate']).default('auto'),
      /** The estimate's joules per executed FLOP (default DEFAULT_JOULES_PER_FLOP, src/energy/estimate.ts). */
      joules_per_flop: z.number().positive().optional(),
      watts: z.number().positive().optional(),
      /** Watts while training is paused, for the planner (a GPU idles at about a tenth of its load). */
      idle_watts: z.number().nonnegative().default(0),
      nvidia_smi: z.string().optional(),
      /** The powercap sysfs RAPL is read from. */
      powercap: z.string().optional(),
      /** How often the meter is read between phase changes; each read closes an interval. */
      sample_interval: durationMs.pipe(z.number().min(100, 'expected at least 100ms')).prefault('5s'),
    })
    .prefault({}),
  /**
   * At start, how long the trainer waits for the first carbon reading; after it, training starts
   * under the policy's `when_stale` and the reading applies when it comes. A few seconds: the
   * network must never keep a job from starting.
   */
  startup_wait: durationMs.prefault('5s'),
  /** SIGTERM/SIGINT: checkpoint and exit within this bound. */
  shutdown_timeout: durationMs.prefault('30s'),
  /** Trainer crashes in a row before the job is marked failed. */
  max_restarts: z.number().int().min(0).default(5),
  /** Exit (0) when the job finishes instead of serving its final metrics. */
  exit_when_done: z.boolean().default(false),
});

export type DaemonConfig = z.output<typeof DaemonConfig>;

/** Reads a daemon config; a budget deadline must lie ahead of `now`. */
export function readDaemonConfig(file: string, now = new Date()): DaemonConfig {
  const c = readYamlConfig(file, DaemonConfig, {
    what: 'daemon config',
    check: (d) => policyTimeIssues(d.policy, now).map((i) => ({ ...i, path: ['policy', ...i.path] })),
  });
  const base = dirname(resolve(file));
  const carbon =
    c.carbon.provider === 'trace' ? { ...c.carbon, file: resolve(base, c.carbon.file) } : c.carbon;
  return { ...c, carbon, job: resolvePaths(c.job, base) };
}
