/**
 * `greentrainer daemon --config FILE`: runs the daemon until SIGTERM/SIGINT (checkpoint, exit 0
 * within `shutdown_timeout`) or, with `exit_when_done`, until the job is over. SIGHUP reloads the
 * config; an invalid one is rejected and logged.
 */

import { readDaemonConfig } from '../daemon/config.js';
import { Daemon } from '../daemon/daemon.js';
import { createLogger, Secrets } from '../daemon/logger.js';
import { formatSummary } from './summary.js';

export interface DaemonOptions {
  readonly config: string;
}

export async function runDaemon(o: DaemonOptions): Promise<void> {
  const config = readDaemonConfig(o.config);
  const secrets = new Secrets();
  const logger = createLogger({ level: config.logging.level, format: config.logging.format, secrets });
  let finishing = false;
  const finish = async (why: string, code: number) => {
    if (finishing) return;
    finishing = true;
    const hard = setTimeout(() => {
      logger.error('shutdown exceeded its bound; exiting', { bound_ms: config.shutdown_timeout + 5000 });
      process.exit(1);
    }, config.shutdown_timeout + 5000);
    hard.unref();
    await daemon.shutdown(why);
    if (config.exit_when_done) process.stdout.write(`${formatSummary(daemon.status)}\n`);
    logger.on('finish', () => process.exit(code));
    logger.end();
    setTimeout(() => process.exit(code), 500).unref();
  };
  const daemon: Daemon = new Daemon(o.config, config, {
    logger,
    secrets,
    onDone: (outcome) => void finish(`job ${outcome}`, outcome === 'finished' ? 0 : 1),
  });
  process.on('SIGTERM', () => void finish('SIGTERM', 0));
  process.on('SIGINT', () => void finish('SIGINT', 0));
  process.on('SIGHUP', () => void daemon.reload());
  await daemon.start();
}
