/**
 * The daemon: polls carbon data on a node-cron schedule, lets the policy decide ρ and pause,
 * drives the trainer process through the supervisor, accounts FLOPs, energy and CO2 into
 * Prometheus metrics, and serves them with its status over HTTP. The one place where real
 * implementations are wired together.
 *
 * Nothing from outside may block or kill it: polls run one at a time and are aborted at shutdown;
 * the data's age is watched on its own clock, so a hung poll still ages the data into `when_stale`; the trainer starts after at most `startup_wait`
 * whether or not a reading came; errors in deciding, polling or serving are caught, logged and
 * counted (`greentrainer_daemon_errors_total{where}`).
 */
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ERROR_REASONS } from '../carbon/errors.js';
import { resolveSecret } from '../carbon/secret.js';
import { type EnergyConfig, selectMeter } from '../energy/select.js';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import { type Decision, evaluate, initialState, type PolicyState } from '../policy/evaluate.js';
import type { HistorySelection } from '../report/history.js';
import type { RunEvent } from '../train/run-events.js';
import { Accounting, flopsSavedRatio } from './accounting.js';
import { CarbonFeed } from './carbon-feed.js';
import { type DaemonConfig, DEFAULT_POLL, readDaemonConfig } from './config.js';
import { ForecastFeed } from './forecast-feed.js';
import { JobLedger } from './job-ledger.js';
import { JobSchedule } from './job-schedule.js';
import type { Logger, Secrets } from './logger.js';
import { PeriodicTask } from './periodic-task.js';
import { rhoOverrideProblem } from './rho-override.js';
import { HttpServer } from './server.js';
import { Supervisor } from './supervisor.js';

/**
 * How often the daemon looks at the reading in use without waiting for a poll: the data-age gauge
 * is updated, and while the data is stale the policy decides (so `when_stale` applies on time
 * even when a poll hangs). A fresh reading's decision is left to the poll that brought it: a
 * budget plan re-evaluated every second would move ρ, and re-select, every second.
 */
const CLOCK_INTERVAL_MS = 1000;

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
  private carbonPoll: PeriodicTask | undefined;
  private clock: NodeJS.Timeout | undefined;
  /** Reads the energy meter between phase changes. */
  private energyClock: NodeJS.Timeout | undefined;
  private stopping = false;
  private reloading: Promise<unknown> = Promise.resolve();
  private forecast!: ForecastFeed;
  /** The job on the execution model: the measured machine, the plan, the run log. */
  private schedule!: JobSchedule;
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
  /** The run's `report.svg`, once the job finished and it was written. */
  private reportFile: string | undefined;
  readonly timeline: Array<{ time: string; rho: number; pause: boolean; reason: string }> = [];
  private backend: { backend: string; gpu: boolean } | undefined;
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
    this.metrics.pollsSkipped.inc({ feed: 'carbon' }, 0);
    for (const where of ['decide', 'poll', 'http'] as const) this.metrics.daemonErrors.inc({ where }, 0);
    this.useToken(this.readToken(c));
    this.schedule = new JobSchedule(
      {
        output: c.job.output,
        selectionIntervalSteps: c.job.selection.interval_steps,
        checkpointIntervalSteps: c.job.checkpoint.every_steps,
        powerRunW: c.energy.watts ?? 0,
        powerIdleW: c.energy.idle_watts,
      },
      (message) => this.d.logger.warn('run log', { message }),
    );
    this.source = this.buildSource(c);
    this.forecast = this.buildForecast(c, this.source);
    this.carbonPoll = this.buildPoll(c, this.source, this.forecast);
    this.server = new HttpServer({
      host: c.server.listen.host,
      port: c.server.listen.port,
      registry: this.metrics.registry,
      control: this.control(),
      token: () => this.token,
      onError: (error, request) => this.caught('http', error, request),
    });
    const address = await this.server.listen();
    this.d.logger.info('listening', { url: `http://${address.address}:${address.port}` });
    await this.firstReading(this.carbonPoll, c.startup_wait);
    if (this.stopping) return { port: address.port };
    this.clock = setInterval(() => this.onClock(), CLOCK_INTERVAL_MS);
    this.supervisor = new Supervisor(c.job, { maxRestarts: c.max_restarts });
    // Until the trainer reports its backend, a GPU is not assumed: `ready` may switch to NVML.
    const choice = await selectMeter(energyConfig(c), false);
    // `auto` ending on the estimate means no sensor could be read (RAPL root-only, say): worth a warning.
    const modelled = c.energy.method === 'auto' && choice.meter.method === 'estimate';
    this.d.logger[modelled ? 'warn' : 'info']('energy meter', {
      method: choice.meter.method,
      why: choice.why,
    });
    this.accounting = new Accounting(
      c.job.name,
      this.metrics,
      choice.meter,
      () => this.intensityInForce(),
      () => this.now(),
      this.openLedger(c),
    );
    this.account(() => this.accounting.sample());
    this.energyClock = setInterval(
      () => this.account(() => this.accounting.sample()),
      c.energy.sample_interval,
    );
    this.watchSupervisor();
    this.metrics.trainerUp.set({ run: c.job.name }, 0);
    this.metrics.jobFailed.set({ run: c.job.name }, 0);
    for (const kind of ['transient', 'permanent', 'crash'])
      this.metrics.failures.inc({ run: c.job.name, kind }, 0);
    // From 0, so FLOPs saved net of re-selection has a series before the first selection.
    this.metrics.selectionFlops.inc({ run: c.job.name }, 0);
    if (this.stopping) return { port: address.port };
    this.supervisor.start(this.decision.rho, this.decision.pause);
    this.carbonPoll.start();
    return { port: address.port };
  }

  /** Polls now and waits for the reading at most `boundMs`; then decides, reading or not. */
  private async firstReading(poll: PeriodicTask, boundMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), boundMs);
    });
    const outcome = await Promise.race([poll.runNow().then(() => 'polled' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late')
      this.d.logger.warn("no carbon reading yet; the trainer starts under the policy's when_stale", {
        provider: this.config.carbon.provider,
        waited_ms: boundMs,
      });
    this.decide();
  }

  /** SIGHUP: re-reads the config; an invalid one is logged and the old one stays in force. */
  reload(): Promise<boolean> {
    const next = this.reloading.then(() => this.reloadNow());
    this.reloading = next;
    return next;
  }

  private async reloadNow(): Promise<boolean> {
    if (this.stopping) return false;
    let next: DaemonConfig;
    let source: CarbonFeed;
    let poll: PeriodicTask;
    let forecast: ForecastFeed;
    let token: string | undefined;
    try {
      next = readDaemonConfig(this.configFile, this.now());
      token = this.readToken(next);
      const same = feedKey(next) === feedKey(this.config);
      source = same ? this.source : this.buildSource(next);
      forecast = same ? this.forecast : this.buildForecast(next, source);
      poll = this.buildPoll(next, source, forecast);
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
    await this.carbonPoll?.stop();
    if (this.stopping) return false;
    this.source = source;
    this.forecast = forecast;
    this.carbonPoll = poll;
    this.config = {
      ...next,
      job: this.config.job,
      server: { ...next.server, listen: this.config.server.listen },
    };
    this.d.logger.info('config reloaded', {
      file: this.configFile,
      ...(jobChanged ? { note: 'job changes apply when the daemon restarts' } : {}),
      ...(listenChanged ? { note_listen: 'server.listen changes apply when the daemon restarts' } : {}),
    });
    this.decide();
    poll.start();
    void poll.runNow();
    return true;
  }

  /** SIGTERM/SIGINT: polls are aborted, the trainer checkpoints and exits within the bound, then the server closes. */
  async shutdown(signal: string): Promise<'clean' | 'killed' | 'none'> {
    this.d.logger.info('shutting down', { signal, timeout_ms: this.config.shutdown_timeout });
    this.stopping = true;
    clearInterval(this.clock);
    clearInterval(this.energyClock);
    await this.carbonPoll?.stop();
    const outcome = this.supervisor ? await this.supervisor.stop(this.config.shutdown_timeout) : 'none';
    // The trainer's last events (its report among them) are taken before the summary is read.
    await this.accounted;
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
    return resolveSecret('server', 'control token', { env, file: path }, process.env, (message) =>
      this.d.logger.warn(message, { setting: 'server.token_file' }),
    ).reveal();
  }

  private useToken(token: string | undefined): void {
    this.token = token;
    this.d.secrets.add(token);
  }

  private buildSource(c: DaemonConfig): CarbonFeed {
    // Every reason starts at 0, so "no errors" is a series and rate() works from the first failure.
    for (const reason of ERROR_REASONS)
      this.metrics.fetchErrors.inc({ provider: c.carbon.provider, reason }, 0);
    if (c.carbon.provider === 'trace') this.schedule.traceStarted(this.now(), c.carbon.file, c.carbon.speed);
    return new CarbonFeed(
      c.carbon,
      {
        env: process.env,
        clock: () => this.now(),
        logger: this.d.logger,
        onError: (provider, reason) => this.metrics.fetchErrors.inc({ provider, reason }),
        secrets: this.d.secrets,
      },
      Math.min(c.carbon.stale_after, c.policy.stale_after),
    );
  }

  private buildForecast(c: DaemonConfig, source: CarbonFeed): ForecastFeed {
    return new ForecastFeed(source.provider, c.carbon.forecast, this.d.logger, () => this.now());
  }

  /**
   * The carbon poll on its schedule, one at a time; a bad cron expression throws here. The
   * forecast, when due, is fetched in the same run: one request to the provider at a time.
   */
  private buildPoll(c: DaemonConfig, feed: CarbonFeed, forecast: ForecastFeed): PeriodicTask {
    return new PeriodicTask({
      schedule: c.carbon.poll ?? DEFAULT_POLL,
      run: async (signal) => {
        await feed.poll(signal);
        // A new reading starts a new energy interval: the one before is priced at the old intensity.
        if (!signal.aborted && this.accounting) this.account(() => this.accounting.sample());
        if (!signal.aborted && forecast.due(this.now())) await forecast.refresh(signal);
        if (!signal.aborted) this.decide();
      },
      onSkip: () => {
        this.metrics.pollsSkipped.inc({ feed: 'carbon' });
        this.d.logger.debug('carbon poll skipped: the previous one is still in flight', {
          provider: feed.provider.name,
        });
      },
      onError: (error) => this.caught('poll', error),
    });
  }

  /** An error a handler caught instead of letting it kill the daemon: logged once and counted. */
  private caught(
    where: 'decide' | 'poll' | 'http',
    error: unknown,
    meta: Record<string, unknown> = {},
  ): void {
    this.metrics.daemonErrors.inc({ where });
    const e = error as Error;
    this.d.logger.error(`${where} failed`, { ...meta, error: e?.stack ?? String(error) });
  }

  /** Between polls: the data-age gauge, and the decision while the data is stale. */
  private onClock(): void {
    try {
      const s = this.source.state(this.now());
      this.metrics.dataAge.set(s.ageSeconds ?? s.waitingSeconds ?? 0);
      if (s.stale) this.decideNow();
    } catch (error) {
      this.caught('decide', error);
    }
  }

  /** Policy (or override, or manual pause) → decision; never throws. */
  private decide(): void {
    try {
      this.decideNow();
    } catch (error) {
      this.caught('decide', error);
    }
  }

  /** Policy (or override, or manual pause) → decision; tells the trainer what changed. */
  private decideNow(): void {
    const now = this.now();
    const s = this.source.state(now);
    const r = s.reading;
    if (r) this.metrics.intensity.set({ provider: r.provider, region: r.region }, r.intensity);
    const age = s.ageSeconds ?? s.waitingSeconds;
    if (age !== undefined) this.metrics.dataAge.set(age);
    const forecast = this.forecast.ahead(now);
    this.metrics.forecastHorizon.set(this.forecast.horizonSeconds(now));
    const input = r ? { ...r, forecast, stale: s.stale, ageMs: (s.ageSeconds ?? 0) * 1000 } : undefined;
    // A budget policy plans on the machine as measured, once the trainer has stepped.
    const job = this.schedule.progress(this.accounting, this.rhoFloor);
    const out = evaluate(this.config.policy, input, this.policyState, now, job ? { job } : {});
    this.policyState = out.state;
    this.schedule.plan = out.plan;
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
    this.schedule.intensity(now, this.intensityInForce());
    if (prev.rho === next.rho && prev.pause === next.pause && this.timeline.length > 0) return;
    this.timeline.push({ time: now.toISOString(), rho: next.rho, pause: next.pause, reason: next.reason });
    this.schedule.decided(now, next, prev.pause !== next.pause);
    this.d.logger.info('decision', { rho: next.rho, pause: next.pause, reason: next.reason });
    if (!this.supervisor) return;
    if (prev.rho !== next.rho) this.supervisor.setRho(next.rho);
    if (prev.pause !== next.pause) {
      if (next.pause) this.supervisor.pause();
      else this.supervisor.resume();
    }
  }

  /** What the daemon measured of a trainer event (after accounting took it), and the ETA it gives. */
  private observe(e: RunEvent, at: Date): void {
    this.schedule.observe(e, at, this.accounting);
    if (e.type === 'done') {
      this.reportFile = this.schedule.writeReport(this.config.job.name) ?? this.reportFile;
      if (this.reportFile) this.d.logger.info('report', { file: this.reportFile });
    }
    if (e.type !== 'step') return;
    const eta = this.schedule.etaSeconds(this.now(), this.decision.rho, this.accounting, this.rhoFloor);
    if (eta === undefined) return;
    this.accounting.job.etaSeconds = eta;
    this.metrics.eta.set({ run: this.config.job.name }, eta);
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
      this.account(() => this.accounting.enter('load'));
      if (b.gpu && this.config.energy.method === 'auto') this.account(() => this.meterForGpu());
    });
    this.supervisor.on('event', (e: RunEvent) => {
      const at = this.now();
      this.account(async () => {
        await this.accounting.onEvent(e);
        this.observe(e, at);
      });
      if (e.type === 'selection')
        log.info('selection', {
          step: e.step,
          rho: e.rho,
          tensors: e.tensors,
          depth: e.depth,
          scored: e.scored,
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
    this.supervisor.on('restart', () => {
      this.metrics.restarts.inc(run);
      // No trainer until the next one starts: what the machine draws meanwhile is idle.
      this.account(() => this.accounting.enter('idle'));
    });
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
      if (state === 'failed') {
        this.metrics.jobFailed.set(run, 1);
        this.account(() => this.accounting.enter('idle'));
      }
      if ((state === 'finished' || state === 'failed') && this.config.exit_when_done) this.d.onDone?.(state);
    });
  }

  /**
   * One accounting task at a time: a meter read (nvidia-smi) is async, and two reads must not
   * interleave, or one interval's joules would be charged twice or to the wrong phase.
   */
  private account(task: () => Promise<void>): void {
    this.accounted = this.accounted
      .then(task)
      .catch((error: unknown) => this.d.logger.error('accounting failed', { error: String(error) }));
  }

  /** The trainer runs on a GPU: `auto` measures it through NVML if nvidia-smi answers. */
  private async meterForGpu(): Promise<void> {
    if (this.accounting.energyMethod === 'nvml') return;
    const choice = await selectMeter(energyConfig(this.config), true);
    if (choice.meter.method === this.accounting.energyMethod) {
      this.d.logger.info('energy meter unchanged on a GPU backend', {
        method: choice.meter.method,
        why: choice.why,
      });
      return;
    }
    await this.accounting.useMeter(choice.meter);
    this.d.logger.info('energy meter', { method: choice.meter.method, why: choice.why });
  }

  private control() {
    return {
      status: () => this.statusJson(),
      reportSvg: () => this.schedule?.reportSvg(this.now(), this.config.job.name) ?? '',
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
        const problem = rhoOverrideProblem(rho, ttlSeconds);
        if (problem) throw new RangeError(problem);
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
        last_error: s?.lastError
          ? { message: this.d.secrets.redact(s.lastError.message), at: s.lastError.at.toISOString() }
          : null,
      },
      plan: this.schedule?.planJson(now, this.decision) ?? [],
      forecast: { horizon_seconds: this.forecast?.horizonSeconds(now) ?? 0 },
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
            selection_flops: t.selectionFlops,
            // Net of re-selection: (full − trained − selection) ÷ full.
            flops_saved_ratio: flopsSavedRatio(t),
            energy_joules: t.energyJoules,
            energy_joules_by_phase: { ...t.energyByPhase },
            energy_method: this.accounting.energyMethod,
            emissions_grams: t.emissionsGrams,
            emissions_avoided_grams: t.avoidedGrams,
          }
        : null,
      layers_trained: layersTrained(this.schedule?.lastSelection),
      report_svg: this.reportFile ?? null,
      timeline: this.timeline.slice(-50),
    };
  }
}

/** The last selection's layers for `/v1/status` (and the status page): fraction of each layer's tensors. */
function layersTrained(s: HistorySelection | undefined) {
  return s ? { time: new Date(s.t).toISOString(), step: s.step, rho: s.rho, layers: s.layers } : null;
}

/** What the carbon feed is built from: a change to anything but the schedule means a new feed. */
function feedKey(c: DaemonConfig): string {
  const { poll: _, ...carbon } = c.carbon;
  return JSON.stringify([carbon, c.policy.stale_after]);
}

/** The meter's slice of the daemon config (the trainer inherits the daemon's CUDA_VISIBLE_DEVICES). */
function energyConfig(c: DaemonConfig): EnergyConfig {
  const e = c.energy;
  return {
    method: e.method,
    ...(e.joules_per_flop ? { joulesPerFlop: e.joules_per_flop } : {}),
    ...(e.watts ? { watts: e.watts } : {}),
    ...(e.nvidia_smi ? { nvidiaSmi: e.nvidia_smi } : {}),
    ...(e.powercap ? { powercap: e.powercap } : {}),
    ...(process.env.CUDA_VISIBLE_DEVICES !== undefined
      ? { cudaVisibleDevices: process.env.CUDA_VISIBLE_DEVICES }
      : {}),
  };
}
