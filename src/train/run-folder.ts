/**
 * A run folder (`job.output`): checkpoints, the fine-tuned model and report.json. One process at
 * a time: a lock file holds the owner's pid and, for a daemon's trainer, its parent's pid.
 *
 * A lock whose process is gone is taken over at once (a crashed or killed trainer must not block
 * its own restart). A lock whose owner lives is waited for (`waitForLock`, bounded): a trainer
 * whose daemon died notices the lost IPC channel, checkpoints and exits within a step, and is
 * killed only if it has not gone after `orphanGraceMs`; any other owner (a live daemon's trainer,
 * a CLI run) is never killed, and past the bound the wait ends in LockBusyError (transient).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirectory } from '../io/make-directory.js';
import { CheckpointStore } from './checkpoint-store.js';
import { LockBusyError, RunIoError } from './run-errors.js';

export interface LockOwner {
  readonly pid: number;
  /** The daemon that forked the owner (absent for a CLI run). */
  readonly parent?: number;
}

export interface LockWait {
  /** Give up (LockBusyError) when the owner still lives after this long. */
  readonly timeoutMs: number;
  /** Kill an owner whose parent is gone once it has had this long to checkpoint and exit. */
  readonly orphanGraceMs: number;
  /** Told once per owner that is waited for, and when an orphan is killed. */
  readonly onWait?: (owner: LockOwner, orphan: boolean) => void;
  readonly onKill?: (owner: LockOwner) => void;
}

export class RunFolder {
  private constructor(
    readonly path: string,
    private readonly lockFile: string,
  ) {}

  /** Takes the lock now: throws LockBusyError when a live process holds it. */
  static lock(path: string, parent?: number): RunFolder {
    const lockFile = join(path, '.lock');
    try {
      makeDirectory(path);
    } catch (error) {
      throw new RunIoError('create the run folder (job output)', path, error);
    }
    const owner = readOwner(lockFile);
    if (owner !== undefined && owner.pid !== process.pid && alive(owner.pid)) {
      throw new LockBusyError(path, owner.pid, 0);
    }
    try {
      writeFileSync(lockFile, `${process.pid}${parent ? ` ${parent}` : ''}\n`);
    } catch (error) {
      throw new RunIoError('write lock', lockFile, error);
    }
    return new RunFolder(path, lockFile);
  }

  checkpoints(keep: number): CheckpointStore {
    return new CheckpointStore(join(this.path, 'checkpoints'), keep);
  }

  /** Removes the lock if this process holds it; an error is returned, not thrown (it runs in `finally`). */
  release(): RunIoError | undefined {
    try {
      if (readOwner(this.lockFile)?.pid === process.pid) rmSync(this.lockFile, { force: true });
      return undefined;
    } catch (error) {
      return new RunIoError('unlink lock', this.lockFile, error);
    }
  }
}

/** Waits until no live process holds the run folder's lock (see the file comment). */
export async function waitForLock(path: string, w: LockWait): Promise<void> {
  const lockFile = join(path, '.lock');
  const t0 = Date.now();
  let told: number | undefined;
  let killed: number | undefined;
  for (;;) {
    const owner = readOwner(lockFile);
    if (!owner || owner.pid === process.pid || !alive(owner.pid)) return;
    const orphan = owner.parent !== undefined && parentGone(owner as Required<LockOwner>);
    if (told !== owner.pid) {
      told = owner.pid;
      w.onWait?.(owner, orphan);
    }
    const waited = Date.now() - t0;
    if (orphan && waited >= w.orphanGraceMs && killed !== owner.pid) {
      killed = owner.pid;
      w.onKill?.(owner);
      process.kill(owner.pid, 'SIGKILL');
    } else if (waited >= w.timeoutMs) throw new LockBusyError(path, owner.pid, waited);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function readOwner(file: string): LockOwner | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const [pid, parent] = text.trim().split(/\s+/).map(Number);
  if (!(Number.isInteger(pid) && pid! > 0)) return undefined;
  return Number.isInteger(parent) && parent! > 0 ? { pid: pid!, parent: parent! } : { pid: pid! };
}

/** The owner's recorded parent died, or the owner was re-parented (Linux: /proc/<pid>/stat). */
function parentGone(owner: Required<LockOwner>): boolean {
  if (!alive(owner.parent)) return true;
  try {
    // "pid (comm) state ppid …": comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${owner.pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return ppid !== owner.parent;
  } catch {
    return false;
  }
}

/** The process exists and is not a zombie (an orphan that exited waits for init to reap it). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
