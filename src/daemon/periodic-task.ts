/**
 * A periodic fetch on a node-cron schedule with at most one run in flight: a tick that finds the
 * previous run still going is skipped (and reported), never stacked. `stop()` aborts the run in
 * flight through its `AbortSignal` and waits for it, so a shutdown never waits on the network.
 * The carbon poll uses it; a second feed (forecasts) can run its own beside it.
 */
import cron, { type ScheduledTask } from 'node-cron';

export interface PeriodicTaskOptions {
  /** Cron expression (node-cron: 5 fields, or 6 with seconds); validated by the config. */
  readonly schedule: string;
  /** One run; should honour `signal`. A rejection is passed to `onError`. */
  readonly run: (signal: AbortSignal) => Promise<void>;
  /** A tick came while the previous run was still in flight. */
  readonly onSkip: () => void;
  readonly onError: (error: unknown) => void;
}

export class PeriodicTask {
  readonly #o: PeriodicTaskOptions;
  readonly #task: ScheduledTask;
  #inFlight: { readonly done: Promise<void>; readonly abort: AbortController } | undefined;
  #stopped = false;

  /** Throws (node-cron's error) on an invalid expression; nothing runs until `start()`. */
  constructor(o: PeriodicTaskOptions) {
    this.#o = o;
    this.#task = cron.createTask(o.schedule, () => void this.runNow());
  }

  get running(): boolean {
    return this.#inFlight !== undefined;
  }

  start(): void {
    this.#task.start();
  }

  /** Runs now unless a run is in flight (then the tick is skipped); resolves when this run ends. */
  runNow(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#inFlight) {
      this.#o.onSkip();
      return this.#inFlight.done;
    }
    const abort = new AbortController();
    const done = this.#o
      .run(abort.signal)
      .catch((error: unknown) => this.#o.onError(error))
      .finally(() => {
        this.#inFlight = undefined;
      });
    this.#inFlight = { done, abort };
    return done;
  }

  /** Stops the schedule, aborts the run in flight and waits for it to settle. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#task.destroy();
    const run = this.#inFlight;
    run?.abort.abort();
    await run?.done;
  }
}
