/**
 * The trainer process: forked by the daemon, it runs one job with `TrainingRun` (resuming from
 * its newest checkpoint) and obeys the daemon's messages at step boundaries. A long tfjs step
 * blocks this process only, never the daemon's scrapes or polls.
 *
 * Its daemon may die (kill -9) at any moment: the lost IPC channel stops the run at the next step
 * boundary with a checkpoint, the lock is released and the process exits 0. Nothing it sends can
 * throw (EPIPE, ERR_IPC_CHANNEL_CLOSED): a report to a gone daemon is dropped.
 */
import { initBackend } from '../backend/select.js';
import { backendFromEnv } from '../config/env.js';
import { RhoError } from '../greentrainer/errors.js';
import { TrainingRun } from '../train/run.js';
import { isTransient } from '../train/run-errors.js';
import { waitForLock } from '../train/run-folder.js';
import type { FromTrainer, ToTrainer } from './protocol.js';

/** How long a live owner of the run folder's lock is waited for before a (transient) failure. */
const LOCK_WAIT_MS = 60_000;
/**
 * How long an orphaned trainer (its daemon gone) may take to checkpoint and exit before it is
 * killed: one step and one checkpoint write, generously.
 */
const ORPHAN_GRACE_MS = 30_000;

let parentGone = false;

function send(m: FromTrainer): void {
  if (parentGone || !process.connected || !process.send) return;
  try {
    // With a callback, a failed send is reported here instead of as an 'error' event.
    process.send(m, undefined, {}, () => {});
  } catch {
    // The channel closed between the check and the send: the daemon is gone.
  }
}

const log = (level: 'info' | 'warn', message: string) =>
  send({ type: 'event', event: { type: 'log', level, message } });

let run: TrainingRun | undefined;
const early: ToTrainer[] = [];

function apply(m: ToTrainer): void {
  if (!run) {
    early.push(m);
    return;
  }
  switch (m.type) {
    case 'setRho':
      try {
        run.setRho(m.rho);
      } catch (error) {
        if (!(error instanceof RhoError)) throw error;
        send({ type: 'error', message: error.message, fatal: false });
      }
      break;
    case 'pause':
      run.pause();
      break;
    case 'resume':
      run.resume();
      break;
    case 'checkpoint':
      run.requestCheckpoint();
      break;
    case 'stop':
      run.requestStop();
      break;
    case 'start':
      break;
  }
}

async function start(m: Extract<ToTrainer, { type: 'start' }>): Promise<void> {
  const forced = backendFromEnv();
  const backend = await initBackend(forced ? { backend: forced } : {});
  send({ type: 'ready', backend: backend.name, gpu: backend.device === 'gpu' });
  await waitForLock(m.job.output, {
    timeoutMs: LOCK_WAIT_MS,
    orphanGraceMs: ORPHAN_GRACE_MS,
    onWait: (owner, orphan) =>
      log(
        'warn',
        orphan
          ? `waiting for process ${owner.pid}, a trainer whose daemon is gone, to checkpoint and release ${m.job.output}`
          : `waiting for process ${owner.pid} to release ${m.job.output}`,
      ),
    onKill: (owner) =>
      log('warn', `killed process ${owner.pid}: its daemon is gone and it still held ${m.job.output}`),
  });
  run = TrainingRun.open(m.job, {
    resume: true,
    rho: m.rho,
    clampRho: true,
    backend: backend.name,
    emit: (event) => send({ type: 'event', event }),
    lockParent: process.ppid,
  });
  if (m.paused) run.pause();
  for (const e of early.splice(0)) apply(e);
  if (parentGone) run.requestStop();
  await run.run();
}

process.on('message', (m: ToTrainer) => {
  if (m.type !== 'start') return apply(m);
  start(m).then(
    () => process.exit(0),
    (error: unknown) => {
      send({
        type: 'error',
        message: error instanceof Error ? error.message : String(error),
        fatal: true,
        transient: isTransient(error),
      });
      if (parentGone) console.error(`greentrainer trainer ${process.pid}: ${String(error)}`);
      process.exitCode = 1;
      setImmediate(() => process.exit(1));
    },
  );
});
// The daemon's signals are its own: it stops the trainer with a message, so ignore the
// terminal's SIGINT that reaches the whole process group.
process.on('SIGINT', () => {});
process.on('disconnect', () => {
  parentGone = true;
  // Before the run opened (starting the backend, waiting for the lock) nothing is held or
  // trained yet: nothing to save.
  if (run) run.requestStop();
  else process.exit(0);
});
