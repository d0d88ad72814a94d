/**
 * Errors of the run folder's I/O, each naming the path and the operation, and the split the
 * daemon's supervisor acts on: a transient failure (a busy lock, a full or failing disk) may pass
 * and is retried with backoff; anything else (a bad model, config or data) is permanent.
 */

/** errno codes of conditions that can clear without a change to the job (space freed, disk back). */
const TRANSIENT_CODES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EBUSY', 'EAGAIN', 'EMFILE', 'ENFILE']);

/** An I/O call on the run folder failed: `operation path: cause`, with the cause's errno code. */
export class RunIoError extends Error {
  override readonly name = 'RunIoError';
  readonly code: string | undefined;

  constructor(
    readonly operation: string,
    readonly path: string,
    cause: unknown,
  ) {
    super(`${operation} ${path}: ${describe(cause)}`, { cause });
    this.code = (cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/** Node's "EACCES: permission denied, mkdir '/x'" without the repeated call and path. */
function describe(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const m = /^(E[A-Z]+: [^,]+), \w+ '.*'$/s.exec(cause.message);
  return m ? m[1]! : cause.message;
}

/** Not enough free space for the next checkpoint (its size known from the previous one). */
export class CheckpointSpaceError extends Error {
  override readonly name = 'CheckpointSpaceError';
  readonly code = 'ENOSPC';

  constructor(
    readonly path: string,
    readonly neededBytes: number,
    readonly freeBytes: number,
  ) {
    super(
      `not enough space to checkpoint in ${path}: the last checkpoint took ${neededBytes} bytes, ${freeBytes} are free`,
    );
  }
}

/** The run folder stayed locked by another live process past the wait bound. */
export class LockBusyError extends Error {
  override readonly name = 'LockBusyError';
  readonly code = 'EBUSY';

  constructor(
    readonly path: string,
    readonly owner: number,
    readonly waitedMs: number,
  ) {
    super(`${path} is in use by process ${owner} (still locked after waiting ${Math.round(waitedMs)} ms)`);
  }
}

/** Whether a restart can fix the failure without a change to the job: walks the `cause` chain. */
export function isTransient(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && TRANSIENT_CODES.has(code)) return true;
  }
  return false;
}
