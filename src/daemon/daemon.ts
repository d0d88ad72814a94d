/**
 * The daemon: polls carbon data on a node-cron schedule, lets the policy decide ρ and pause,
 * drives the trainer process through the supervisor, accounts FLOPs, energy and CO2 into
 * Prometheus metrics, and serves them with its status over HTTP. The one place where real
 * implementations are wired together.
 */
import { dirname, isAbsolute, join, resolve } from 'node:path';
import cron, { type ScheduledTask } from 'node-cron';
import { ERROR_REASONS } from '../carbon/errors.js';
import { resolveSecret } from '../carbon/secret.js';
import { selectMeter } from '../energy/select.js';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import { type Decision, evaluate, initialState, type PolicyState } from '../policy/evaluate.js';
import type { RunEvent } from '../train/run-events.js';
import { Accounting } from './accounting.js';
import { CarbonFeed } from './carbon-feed.js';
import { type DaemonConfig, readDaemonConfig } from './config.js';
import { JobLedger } from './job-ledger.js';
import type { Logger, Secrets } from './logger.js';
import { HttpServer } from './server.js';
import { Supervisor } from './supervisor.js';

export interface DaemonDeps {
  readonly logger: Logger;
  readonly secrets: Secrets;
  readonly now?: () => Date;
  /** Called once when the job is over (finished, failed) and `exit_when_done` is set. */
  readonly onDone?: (outcome: 'finished' | 'failed') => void;
}

interface Override {
  readonly rho: number;
  readonly until: number;
}

export class Daemon {
  readonly metrics: Metrics = createMetrics();
  private config: DaemonConfig;
  private source!: CarbonFeed;
  private task: ScheduledTask | undefined;
  private policyState: PolicyState;
  private decision: Decision = { rho: 1, pause: false, reason: 'starting' };
  private manualPause = false;
  private override: Override | undefined;
  private supervisor!: Supervisor;
  private accounting!: Accounting;
  private accounted: Promise<void> = Promise.resolve();
  private server!: HttpServer;
  private token: string | undefined;
  private readonly started = Date.now();
  readonly timeline: Array<{ time: string; rho: number; pause: boolean; reason: string }> = [];
  private backend: { backend: string; gpu: boolean } | undefined;
  private polling: Promise<void> | undefined;
  /** The job's trainable floor, once the trainer reports it: ρ below it is raised to it. */
  private rhoFloor = 0;

  constructor(
    readonly configFile: string,
    config: DaemonConfig,
    private readonly d: DaemonDeps,
  ) {
    this.config = config;
    this.policyState = initialState(config.policy);
  }

  private now(): Date {
    return this.d.now?.() ?? new Date();
  }

  get address(): string {
    const l = this.config.server.listen;
    return `http://${l.host}:${l.port}`;
  }

  get status(): ReturnType<Daemon['statusJson']> {
    return this.statusJson();
  }

  async start(): Promise<{ port: number }> {
    const c = this.config;
    this.useToken(this.readToken(c));
    this.source = this.buildSource(c);
    this.server = new HttpServer({
      host: c.server.listen.host,
      port: c.server.listen.port,
      registry: this.metrics.registry,
      control: this.control(),
      token: () => this.token,
    });
    const address = await this.server.listen();
    this.d.logger.info('listening', { url: `http://${address.address}:${address.port}` });
    await this.poll();
    this.supervisor = new Supervisor(c.job, { maxRestarts: c.max_restarts });
    const meter = await selectMeter(
      {
        method: c.energy.method,
        ...(c.energy.joules_per_flop ? { joulesPerFlop: c.energy.joules_per_flop } : {}),
        ...(c.energy.watts ? { watts: c.energy.watts } : {}),
        ...(c.energy.nvidia_smi ? { nvidiaSmi: c.energy.nvidia_smi } : {}),
      },
      false,
    );
    this.d.logger.info('energy meter', { method: meter.method });
    this.accounting = new Accounting(
      c.job.name,
      this.metrics,
      meter,
      () => this.intensityInForce(),
      () => this.now(),
      this.openLedger(c),
    );
    this.watchSupervisor();
    this.metrics.trainerUp.set({ run: c.job.name }, 0);
    this.metrics.jobFailed.set({ run: c.job.name }, 0);
    for (const kind of ['transient', 'permanent', 'crash'])
      this.metrics.failures.inc({ run: c.job.name, kind }, 0);
    this.supervisor.start(this.decision.rho, this.decision.pause);
    this.schedule();
    return { port: address.port };
  }

  /** SIGHUP: re-reads the config; an invalid one is logged and the old one stays in force. */
  async reload(): Promise<boolean> {
    let next: DaemonConfig;
    let source: CarbonFeed;
    let token: string | undefined;
    try {
      next = readDaemonConfig(this.configFile);
      token = this.readToken(next);
      source = this.buildSource(next);
    } catch (error) {
      this.d.logger.error('config reload rejected; the previous config stays in force', {
        file: this.configFile,
        error: (error as Error).message,
      });
      return false;
    }
    const jobChanged = JSON.stringify(next.job) !== JSON.stringify(this.config.job);
    const listenChanged = JSON.stringify(next.server.listen) !== JSON.stringify(this.config.server.listen);
    this.useToken(token);
    this.source = source;
    this.config = {
      ...next,
      job: this.config.job,
      server: { ...next.server, listen: this.config.server.listen },
    };
    this.schedule();
    this.d.logger.info('config reloaded', {
      file: this.configFile,
      ...(jobChanged ? { note: 'job changes apply when the daemon restarts' } : {}),
      ...(listenChanged ? { note_listen: 'server.listen changes apply when the daemon restarts' } : {}),
    });
    await this.poll();
    return true;
  }

  /** SIGTERM/SIGINT: the trainer checkpoints and exits within the bound, then the server closes. */
  async shutdown(signal: string): Promise<'clean' | 'killed' | 'none'> {
    this.d.logger.info('shutting down', { signal, timeout_ms: this.config.shutdown_timeout });
    this.task?.stop();
    await this.polling;
    const outcome = this.supervisor ? await this.supervisor.stop(this.config.shutdown_timeout) : 'none';
    await this.server?.close();
    this.d.logger.info('stopped', { trainer: outcome });
    return outcome;
  }

  /** The control token: a file (in $CREDENTIALS_DIRECTORY under systemd, else next to the config) or an env var. */
  private readToken(c: DaemonConfig): string | undefined {
    const { token_file: file, token_env: env } = c.server;
    if (!file && !env) return undefined;
    const dir = process.env.CREDENTIALS_DIRECTORY ?? dirname(resolve(this.configFile));
    const path = file ? (isAbsolute(file) ? file : join(dir, file)) : undefined;
    return resolveSecret('server', 'control token', { env, file: path }, process.env).reveal();
  }

  private useToken(token: string | undefined): void {
    this.token = token;
    this.d.secrets.add(token);
  }

  private buildSource(c: DaemonConfig): CarbonFeed {
    // Every reason starts at 0, so "no errors" is a series and rate() works from the first failure.
    for (const reason of ERROR_REASONS)
      this.metrics.fetchErrors.inc({ provider: c.carbon.provider, reason }, 0);
    return new CarbonFeed(
      c.carbon,
      {
        env: process.env,
        clock: () => this.now(),
        logger: this.d.logger,
        onError: (provider, reason) => this.metrics.fetchErrors.inc({ provider, reason }),
      },
      Math.min(c.carbon.stale_after, c.policy.stale_after),
    );
  }

  private schedule(): void {
    this.task?.stop();
    this.task = cron.schedule(this.config.carbon.poll ?? '*/5 * * * *', () => {
      this.polling = this.poll();
    });
  }

  private async poll(): Promise<void> {
    await this.source.poll();
    this.decide();
  }

  /** Policy (or override, or manual pause) → decision; tells the trainer what changed. */
  private decide(): void {
    const now = this.now();
    const s = this.source.state(now);
    const r = s.reading;
    if (r) this.metrics.intensity.set({ provider: r.provider, region: r.region }, r.intensity);
    if (s.ageSeconds !== undefined) this.metrics.dataAge.set(s.ageSeconds);
    const input = r ? { ...r, stale: s.stale, ageMs: (s.ageSeconds ?? 0) * 1000 } : undefined;
    // A budget policy plans from the trainer's own count of the work left, once it has one.
    const left = this.accounting?.remainingFullFlops;
    const out = evaluate(
      this.config.policy,
      input,
      this.policyState,
      now,
      left === undefined ? {} : { remainingFlops: left },
    );
    this.policyState = out.state;
    let next = out.decision;
    if (this.override && this.override.until > now.getTime())
      next = {
        ...next,
        rho: this.override.rho,
        reason: `override ρ ${this.override.rho} until ${new Date(this.override.until).toISOString()} (policy: ${next.reason})`,
      };
    else this.override = undefined;
    if (this.manualPause)
      next = { ...next, pause: true, reason: `paused by an operator (policy: ${next.reason})` };
    this.apply(next, now);
  }

  private apply(decided: Decision, now: Date): void {
    const prev = this.decision;
    const floor = Math.ceil(this.rhoFloor * 1000) / 1000;
    const next =
      decided.rho < floor
        ? {
            ...decided,
            rho: floor,
            reason: `${decided.reason}; raised to the job's trainable floor ${floor}`,
          }
        : decided;
    this.decision = next;
    this.metrics.rho.set(next.rho);
    this.metrics.rhoFloor.set(Math.max(this.config.policy.rho_min, floor));
    this.metrics.paused.set(next.pause ? 1 : 0);
    if (prev.rho === next.rho && prev.pause === next.pause && this.timeline.length > 0) return;
    this.timeline.push({ time: now.toISOString(), rho: next.rho, pause: next.pause, reason: next.reason });
    this.d.logger.info('decision', { rho: next.rho, pause: next.pause, reason: next.reason });
    if (!this.supervisor) return;
    if (prev.rho !== next.rho) this.supervisor.setRho(next.rho);
    if (prev.pause !== next.pause) {
      if (next.pause) this.supervisor.pause();
      else this.supervisor.resume();
    }
  }

  private intensityInForce(): number | undefined {
    const r = this.source.state(this.now()).reading;
    return r && r.unit === 'gCO2eq/kWh' ? r.intensity : undefined;
  }

  /** The job's energy and CO2e totals so far; an unreadable ledger is logged and started afresh. */
  private openLedger(c: DaemonConfig): JobLedger {
    const ledger = new JobLedger(join(c.job.output, 'job-totals.json'));
    try {
      return ledger.load();
    } catch (error) {
      this.d.logger.error('job totals unreadable; energy and CO2e restart from 0', {
        error: (error as Error).message,
      });
      return ledger;
    }
  }

  private watchSupervisor(): void {
    const run = { run: this.config.job.name };
    const log = this.d.logger;
    this.supervisor.on('ready', (b) => {
      this.backend = b;
    });
    this.supervisor.on('event', (e: RunEvent) => {
      // One event at a time: an energy sample (nvidia-smi) is async, and two steps' samples must
      // not interleave, or one step's joules would be charged to the other or counted twice.
      this.accounted = this.accounted
        .then(() => this.accounting.onEvent(e))
        .catch((error: unknown) => log.error('accounting failed', { error: String(error) }));
      if (e.type === 'selection')
        log.info('selection', {
          step: e.step,
          rho: e.rho,
          tensors: e.tensors,
          depth: e.depth,
          flops_ratio: e.flopsRatio,
          ms: Math.round(e.ms),
        });
      else if (e.type === 'checkpoint')
        log.info('checkpoint', { step: e.step, path: e.path, reason: e.reason });
      else if (e.type === 'evaluation') log.info('evaluation', { when: e.when, reports: e.reports });
      else if (e.type === 'log') log[e.level]('trainer', { message: e.message });
      else if (e.type === 'start') {
        log.info('trainer started', {
          step: e.step,
          total_steps: e.totalSteps,
          rho_floor: e.rhoFloor,
          resumed_from: e.resumedFrom,
        });
        if (e.rhoFloor !== this.rhoFloor) {
          this.rhoFloor = e.rhoFloor;
          this.decide();
        }
      }
    });
    this.supervisor.on('trainerError', (message) => log.error('trainer error', { message }));
    this.supervisor.on('restart', () => this.metrics.restarts.inc(run));
    this.supervisor.on('failure', (f) => {
      this.metrics.failures.inc({ ...run, kind: f.kind });
      log.warn('trainer failure', {
        kind: f.kind,
        reason: f.reason,
        attempt: f.attempt,
        retry_at: f.retryAt,
      });
    });
    this.supervisor.on('state', (state, why) => {
      log[state === 'failed' ? 'error' : 'info']('trainer state', { state, why });
      this.metrics.trainerUp.set(run, state === 'running' ? 1 : 0);
      if (state === 'failed') this.metrics.jobFailed.set(run, 1);
      if ((state === 'finished' || state === 'failed') && this.config.exit_when_done) this.d.onDone?.(state);
    });
  }

  private control() {
    return {
      status: () => this.statusJson(),
      decision: () => ({ ...this.decision, since: this.timeline.at(-1)?.time ?? null }),
      ready: () => {
        const state = this.supervisor?.state;
        const ready = state === 'running' || state === 'finished';
        const f = this.supervisor?.failure;
        const retry = f?.retryAt ? `; retry at ${f.retryAt}` : '';
        const failure = f && !ready ? ` after a ${f.kind} failure (${f.reason})${retry}` : '';
        return { ready, why: `trainer ${state ?? 'not started'}${failure}` };
      },
      pause: () => {
        this.manualPause = true;
        this.decide();
      },
      resume: () => {
        this.manualPause = false;
        this.decide();
      },
      overrideRho: (rho: number, ttlSeconds: number) => {
        if (!(rho > 0 && rho <= 1)) throw new RangeError(`ρ must lie in (0, 1], got ${rho}`);
        this.override = { rho, until: this.now().getTime() + ttlSeconds * 1000 };
        this.decide();
        return { ...this.decision };
      },
    };
  }

  private statusJson() {
    const now = this.now();
    const s = this.source?.state(now);
    const t = this.accounting?.totals;
    return {
      uptime_seconds: Math.round((Date.now() - this.started) / 1000),
      config: this.configFile,
      carbon: {
        provider: this.source?.provider.name,
        region: this.source?.provider.region,
        reading: s?.reading
          ? {
              time: s.reading.time.toISOString(),
              intensity: s.reading.intensity,
              unit: s.reading.unit,
              kind: s.reading.kind,
            }
          : null,
        age_seconds: s?.ageSeconds ?? null,
        stale: s?.stale ?? true,
        last_error: s?.lastError ? { message: s.lastError.message, at: s.lastError.at.toISOString() } : null,
      },
      decision: {
        ...this.decision,
        override: this.override
          ? { rho: this.override.rho, until: new Date(this.override.until).toISOString() }
          : null,
      },
      job: {
        name: this.config.job.name,
        method: this.config.job.method,
        state: this.supervisor?.state ?? 'idle',
        trainer_pid: this.supervisor?.pid ?? null,
        failure: this.supervisor?.failure ?? null,
        backend: this.backend?.backend ?? null,
        ...(this.accounting?.job ?? {}),
        progress:
          this.accounting && this.accounting.job.totalSteps > 0
            ? this.accounting.job.step / this.accounting.job.totalSteps
            : 0,
      },
      totals: t
        ? {
            steps: t.steps,
            flops: t.flops,
            flops_full: t.flopsFull,
            flops_saved_ratio: t.flopsFull > 0 ? 1 - t.flops / t.flopsFull : 0,
            energy_joules: t.energyJoules,
            energy_method: this.accounting.energyMethod,
            emissions_grams: t.emissionsGrams,
            emissions_avoided_grams: t.avoidedGrams,
          }
        : null,
      timeline: this.timeline.slice(-50),
    };
  }
}
