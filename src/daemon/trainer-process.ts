/**
 * The trainer process: forked by the daemon, it runs one job with `TrainingRun` (resuming from
 * its newest checkpoint) and obeys the daemon's messages at step boundaries. A long tfjs step
 * blocks this process only, never the daemon's scrapes or polls.
 */
import { initBackend } from '../backend/select.js';
import { backendFromEnv } from '../config/env.js';
import { RhoError } from '../greentrainer/errors.js';
import { TrainingRun } from '../train/run.js';
import type { FromTrainer, ToTrainer } from './protocol.js';

const send = (m: FromTrainer) => process.send?.(m);

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
  run = TrainingRun.open(m.job, {
    resume: true,
    rho: m.rho,
    clampRho: true,
    backend: backend.name,
    emit: (event) => send({ type: 'event', event }),
  });
  if (m.paused) run.pause();
  for (const e of early.splice(0)) apply(e);
  await run.run();
}

process.on('message', (m: ToTrainer) => {
  if (m.type !== 'start') return apply(m);
  start(m).then(
    () => process.exit(0),
    (error: unknown) => {
      send({ type: 'error', message: error instanceof Error ? error.message : String(error), fatal: true });
      process.exitCode = 1;
      setImmediate(() => process.exit(1));
    },
  );
});
// The daemon's signals are its own: it stops the trainer with a message, so ignore the
// terminal's SIGINT that reaches the whole process group.
process.on('SIGINT', () => {});
process.on('disconnect', () => run?.requestStop());
