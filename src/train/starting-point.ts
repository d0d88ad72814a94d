/**
 * Where a run starts: from the newest checkpoint that loads (`--resume`), from step 1 after
 * removing the run folder's checkpoints (`--restart`, never implied), or from step 1 in a folder
 * without any. Anything else is refused, naming each checkpoint and why it did not load, and
 * touches nothing: starting over silently would rotate a run's work away.
 */

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_LOG } from '../daemon/run-log.js';
import type { CheckpointStore, LoadedCheckpoint } from './checkpoint-store.js';
import type { RunOptions } from './run.js';
import { TrainingError } from './trainer.js';

/**
 * The checkpoint to resume from: with `resume`, the newest that loads (refusing when the folder
 * holds checkpoints and none loads: starting over would discard them); with `restart`, none,
 * after removing them; otherwise none, refusing a folder that holds checkpoints.
 */
export function startingPoint(
  store: CheckpointStore,
  output: string,
  o: Pick<RunOptions, 'resume' | 'restart' | 'emit'>,
): LoadedCheckpoint | undefined {
  const names = store.folders();
  if (o.resume) {
    const latest = store.latest();
    if (latest || names.length === 0) return latest;
    const why = names.map((n) => `  ${join(store.dir, n)}: ${store.verify(n)}`);
    throw new TrainingError(
      `${output}: no checkpoint can be resumed; each was left in place:\n${why.join('\n')}\n` +
        'pass --restart instead of --resume to remove them and start from step 1',
    );
  }
  if (names.length > 0) {
    if (!o.restart)
      throw new TrainingError(
        `${output} already holds checkpoints: pass --resume to continue that run, --restart to discard it, or choose another output folder`,
      );
    store.removeAll();
    o.emit({
      type: 'log',
      level: 'warn',
      message: `--restart: removed ${names.length} checkpoint${names.length > 1 ? 's' : ''} from ${store.dir}`,
    });
  }
  // A run from step 1 starts its run log afresh: report.svg's charts are drawn from it.
  rmSync(join(output, RUN_LOG), { force: true });
  return undefined;
}
