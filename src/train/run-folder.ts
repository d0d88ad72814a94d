/**
 * A run folder (`job.output`): checkpoints, the fine-tuned model and report.json. One process at
 * a time: a lock file holds the owner's pid, and a lock whose process is gone is taken over (a
 * crashed or killed trainer must not block its own restart).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointStore } from './checkpoint-store.js';
import { TrainingError } from './trainer.js';

export class RunFolder {
  private constructor(
    readonly path: string,
    private readonly lockFile: string,
  ) {}

  static lock(path: string): RunFolder {
    mkdirSync(path, { recursive: true });
    const lockFile = join(path, '.lock');
    const owner = readOwner(lockFile);
    if (owner !== undefined && owner !== process.pid && alive(owner)) {
      throw new TrainingError(`${path} is in use by process ${owner} (lock ${lockFile})`);
    }
    writeFileSync(lockFile, `${process.pid}\n`);
    return new RunFolder(path, lockFile);
  }

  checkpoints(keep: number): CheckpointStore {
    return new CheckpointStore(join(this.path, 'checkpoints'), keep);
  }

  release(): void {
    if (readOwner(this.lockFile) === process.pid) rmSync(this.lockFile, { force: true });
  }
}

function readOwner(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
