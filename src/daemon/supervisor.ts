/**
 * Runs the job in a trainer process and keeps it running: forwards ρ, pause and checkpoint
 * requests; restarts a crashed trainer from its last checkpoint with exponential backoff; marks
 * the job failed after `maxRestarts` crashes in a row without progress, or at once when the job
 * cannot even open (bad model, data or ρ — a restart cannot fix those).
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

export interface SupervisorEvents {
  event: [RunEvent];
  state: [TrainerState, string];
  ready: [{ backend: string; gpu: boolean }];
  trainerError: [string];
  restart: [number];
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private child: ChildProcess | undefined;
  private current: TrainerState = 'idle';
  private crashes = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private opened = false;
  private lastError = '';
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
    this.setState(this.crashes > 0 ? 'restarting' : 'starting', 'starting the trainer process');
    const entry = this.o.entry ?? new URL(`trainer-process${extname()}`, import.meta.url).pathname;
    const child = fork(entry, [], {
      execArgv: extname() === '.ts' ? ['--import', 'tsx'] : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.child = child;
    this.opened = false;
    child.on('message', (m: FromTrainer) => this.onMessage(m));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    child.send({ type: 'start', job: this.job, rho: this.rho, paused: this.paused } satisfies ToTrainer);
  }

  private onMessage(m: FromTrainer): void {
    if (m.type === 'ready') this.emit('ready', { backend: m.backend, gpu: m.gpu });
    else if (m.type === 'error') {
      this.lastError = m.message;
      this.emit('trainerError', m.message);
    } else {
      if (m.event.type === 'start') {
        this.opened = true;
        this.setState('running', `trainer running at step ${m.event.step}`);
      }
      if (m.event.type === 'step') this.crashes = 0;
      this.emit('event', m.event);
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    if (this.stopping) return;
    if (code === 0) {
      this.setState('finished', 'the job finished');
      return;
    }
    const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
    if (!this.opened && this.lastError) {
      this.setState('failed', `the job cannot start: ${this.lastError}`);
      return;
    }
    this.crashes++;
    const max = this.o.maxRestarts ?? 5;
    if (this.crashes > max) {
      this.setState('failed', `the trainer crashed ${this.crashes} times in a row (last: ${why})`);
      return;
    }
    const { initial, max: cap } = this.o.backoffMs ?? { initial: 1000, max: 60_000 };
    const delay = Math.min(cap, initial * 2 ** (this.crashes - 1));
    this.setState('restarting', `trainer ${why}; restart ${this.crashes}/${max} in ${delay} ms`);
    this.emit('restart', this.crashes);
    this.restartTimer = setTimeout(() => this.spawn(), delay);
  }

  private send(m: ToTrainer): void {
    const c = this.child;
    if (c?.connected) c.send(m);
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
