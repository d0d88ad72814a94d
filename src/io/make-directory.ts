/**
 * `mkdir -p` that always ends. Node's own (`mkdirSync(path, { recursive: true })`) never returns
 * where a parent exists but cannot hold children: on Node 20, `/proc/greentrainer-run` spins
 * forever (mkdir gives ENOENT, its parent EEXIST, and round again), so a job whose `output` sits
 * under /proc wedged `train` and the daemon's trainer with no message. This one creates each
 * missing level in turn, once, and a level that cannot be made throws its own error.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export function makeDirectory(path: string): void {
  const missing: string[] = [];
  for (let p = resolve(path); ; ) {
    if (exists(p)) {
      if (!statSync(p).isDirectory()) mkdirSync(p); // throws EEXIST, naming it
      break;
    }
    missing.push(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (error) {
      // Made meanwhile by another process: fine, if it is a folder.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(dir).isDirectory()) throw error;
    }
  }
}

/** Whether something is at `p` (a broken symlink counts as nothing: mkdir then says why). */
function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
