/**
 * Runs the job in a trainer process and keeps it running: forwards ρ, pause and checkpoint
 * requests; restarts a failed trainer from its last checkpoint with exponential backoff.
 *
 * Failures are classified: `transient` (the trainer reported a busy lock, a full or failing disk),
 * `permanent` (it reported anything else: a bad model, data or ρ) and `crash` (it died without a
 * report: a signal, an OOM kill). A permanent failure before the job opened marks it failed at
 * once — a restart cannot fix it. Every other failure is retried, and the restart budget
 * (`maxRestarts`) counts failures without progress past the last checkpoint: only a checkpoint at
 * a later step resets it, so a loop that trains but never checkpoints (a full disk) ends in
 * `failed` with the last failure as the reason.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Job } from '../train/job.js';
import type { RunEvent } from '../train/run-events.js';
import type { FromTrainer, ToTrainer } from './protocol.js';

export type TrainerState = 'idle' | 'starting' | 'running' | 'restarting' | 'finished' | 'failed' | 'stopped';

export interface SupervisorOptions {
  readonly maxRestarts?: number;
  readonly backoffMs?: { readonly initial: number; readonly max: number };
  /** The trainer entry point (default: trainer-process next to this file). */
  readonly entry?: string;
}

export type FailureKind = 'transient' | 'permanent' | 'crash';

/** The last failure while it stands (until the job checkpoints past it). */
export interface Failure {
  readonly kind: FailureKind;
  readonly reason: string;
  /** Failures without progress so far, and how many the budget allows. */
  readonly attempt: number;
  readonly maxRestarts: number;
  /** When the next start is due (ISO time), or null when none is (failed, stopping). */
  readonly retryAt: string | null;
}

export interface SupervisorEvents {
  event: [RunEvent];
  state: [TrainerState, string];
  ready: [{ backend: string; gpu: boolean }];
  trainerError: [string];
  restart: [number];
  failure: [Failure];
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private child: ChildProcess | undefined;
  private current: TrainerState = 'idle';
  /** Failures since the last checkpoint past `checkpointed`. */
  private failures = 0;
  /** The newest checkpoint step the job has reached (resumed from or written). */
  private checkpointed = -1;
  private lastFailure: Failure | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private opened = false;
  private lastError: { message: string; transient: boolean } | undefined;
  private rho = 1;
  private paused = false;

  constructor(
    private readonly job: Job,
    private readonly o: SupervisorOptions = {},
  ) {
    super();
  }

  get state(): TrainerState {
    return this.current;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The standing failure, or undefined when the job has checkpointed since (or never failed). */
  get failure(): Failure | undefined {
    return this.lastFailure;
  }

  start(rho: number, paused: boolean): void {
    this.rho = rho;
    this.paused = paused;
    this.spawn();
  }

  setRho(rho: number): void {
    this.rho = rho;
    this.send({ type: 'setRho', rho });
  }

  pause(): void {
    this.paused = true;
    this.send({ type: 'pause' });
  }

  resume(): void {
    this.paused = false;
    this.send({ type: 'resume' });
  }

  checkpoint(): void {
    this.send({ type: 'checkpoint' });
  }

  /** Asks the trainer to checkpoint and exit; kills it after `timeoutMs`. Resolves when it is gone. */
  async stop(timeoutMs: number): Promise<'clean' | 'killed' | 'none'> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      if (this.current !== 'finished' && this.current !== 'failed')
        this.setState('stopped', 'stop requested');
      return 'none';
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.send({ type: 'stop' });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      exited.then(() => 'clean' as const),
      new Promise<'killed'>((resolve) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve('killed');
        }, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    await exited;
    this.setState(
      'stopped',
      outcome === 'clean' ? 'stopped after a checkpoint' : 'killed after the stop timeout',
    );
    return outcome;
  }

  private spawn(): void {
    this.setState(this.failures > 0 ? 'restarting' : 'starting', 'starting the trainer process');
    const entry = this.o.entry ?? new URL(`trainer-process${extname()}`, import.meta.url).pathname;
    const child = fork(entry, [], {
      execArgv: extname() === '.ts' ? ['--import', 'tsx'] : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.child = child;
    this.opened = false;
    this.lastError = undefined;
    child.on('message', (m: FromTrainer) => this.onMessage(m));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    // A process that could not start, or a message to one that is exiting (EPIPE): 'exit' decides
    // what happens to the job; an unheard 'error' would take the daemon down.
    child.on('error', (error) => this.emit('trainerError', `trainer process: ${error.message}`));
    this.send({ type: 'start', job: this.job, rho: this.rho, paused: this.paused });
  }

  private onMessage(m: FromTrainer): void {
    if (m.type === 'ready') this.emit('ready', { backend: m.backend, gpu: m.gpu });
    else if (m.type === 'error') {
      if (m.fatal) this.lastError = { message: m.message, transient: m.transient ?? false };
      this.emit('trainerError', m.message);
    } else {
      if (m.event.type === 'start') {
        this.opened = true;
        this.checkpointed = Math.max(this.checkpointed, m.event.step);
        this.setState('running', `trainer running at step ${m.event.step}`);
      }
      if (m.event.type === 'checkpoint' && m.event.step > this.checkpointed) {
        this.checkpointed = m.event.step;
        this.failures = 0;
        this.lastFailure = undefined;
      }
      this.emit('event', m.event);
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    if (this.stopping) return;
    if (code === 0) {
      this.lastFailure = undefined;
      this.setState('finished', 'the job finished');
      return;
    }
    const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
    const error = this.lastError;
    if (error && !error.transient && !this.opened) {
      this.fail('permanent', `the job cannot start: ${error.message}`);
      return;
    }
    const kind: FailureKind = error ? (error.transient ? 'transient' : 'permanent') : 'crash';
    const reason = error ? `${kind} failure: ${error.message}` : `the trainer ${why}`;
    this.failures++;
    const max = this.o.maxRestarts ?? 5;
    if (this.failures > max) {
      const since = this.checkpointed >= 0 ? `the checkpoint at step ${this.checkpointed}` : 'the start';
      this.fail(kind, `${this.failures} failures without progress past ${since} (last: ${reason})`);
      return;
    }
    const { initial, max: cap } = this.o.backoffMs ?? { initial: 1000, max: 60_000 };
    const delay = Math.min(cap, initial * 2 ** (this.failures - 1));
    this.report(kind, reason, new Date(Date.now() + delay).toISOString());
    this.setState('restarting', `${reason}; restart ${this.failures}/${max} in ${delay} ms`);
    this.emit('restart', this.failures);
    this.restartTimer = setTimeout(() => this.spawn(), delay);
  }

  private fail(kind: FailureKind, reason: string): void {
    this.report(kind, reason, null);
    this.setState('failed', reason);
  }

  private report(kind: FailureKind, reason: string, retryAt: string | null): void {
    this.lastFailure = {
      kind,
      reason,
      attempt: this.failures,
      maxRestarts: this.o.maxRestarts ?? 5,
      retryAt,
    };
    this.emit('failure', this.lastFailure);
  }

  /**
   * Sends to the trainer if it is connected. The channel can still break before the message is
   * written (the trainer exiting as it finishes): the callback takes that error, so nothing throws.
   */
  private send(m: ToTrainer): void {
    const c = this.child;
    if (c?.connected)
      c.send(m, (error) => {
        if (error) this.emit('trainerError', `cannot send '${m.type}' to the trainer: ${error.message}`);
      });
  }

  private setState(s: TrainerState, why: string): void {
    this.current = s;
    this.emit('state', s, why);
  }
}

/** `.ts` when running from source under tsx, `.js` when built. */
function extname(): string {
  return import.meta.url.endsWith('.ts') ? '.ts' : '.js';
}
