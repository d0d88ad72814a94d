import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTransient, LockBusyError } from '../../src/train/run-errors.js';
import { RunFolder, waitForLock } from '../../src/train/run-folder.js';

/** A process that sleeps until killed. */
function sleeper(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
}

async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => p.once('exit', resolve));
  return p.pid!;
}

const exited = (p: ChildProcess) =>
  p.exitCode !== null || p.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => p.once('exit', () => resolve()));

describe('train/run-folder: the lock', function () {
  this.timeout(30_000);

  it('takes over a lock whose process is gone, and records the daemon as parent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-lock-'));
    writeFileSync(join(dir, '.lock'), `${await deadPid()} ${await deadPid()}\n`);
    await waitForLock(dir, { timeoutMs: 1000, orphanGraceMs: 1000 });
    const folder = RunFolder.lock(dir, process.ppid);
    assert.equal(readFileSync(join(dir, '.lock'), 'utf8'), `${process.pid} ${process.ppid}\n`);
    assert.equal(folder.release(), undefined);
  });

  it('waits for a live owner whose daemon lives, then gives up with a transient LockBusyError, never killing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-lock-'));
    const owner = sleeper();
    try {
      // The owner's parent is this process, alive: a live daemon's trainer.
      writeFileSync(join(dir, '.lock'), `${owner.pid} ${process.pid}\n`);
      assert.throws(() => RunFolder.lock(dir), LockBusyError);
      const waits: number[] = [];
      await assert.rejects(
        waitForLock(dir, { timeoutMs: 600, orphanGraceMs: 100, onWait: (o) => waits.push(o.pid) }),
        (e: unknown) => e instanceof LockBusyError && e.owner === owner.pid && isTransient(e),
      );
      assert.deepEqual(waits, [owner.pid]);
      assert.equal(owner.exitCode, null, 'still running');
      assert.equal(owner.signalCode, null, 'not killed');
    } finally {
      owner.kill('SIGKILL');
      await exited(owner);
    }
  });

  it('kills an owner whose daemon is gone once its grace is over, and takes the lock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-lock-'));
    const owner = sleeper();
    try {
      writeFileSync(join(dir, '.lock'), `${owner.pid} ${await deadPid()}\n`);
      const seen: Array<[number, boolean]> = [];
      const killed: number[] = [];
      await waitForLock(dir, {
        timeoutMs: 20_000,
        orphanGraceMs: 300,
        onWait: (o, orphan) => seen.push([o.pid, orphan]),
        onKill: (o) => killed.push(o.pid),
      });
      assert.deepEqual(seen, [[owner.pid, true]]);
      assert.deepEqual(killed, [owner.pid]);
      await exited(owner);
      assert.equal(owner.signalCode, 'SIGKILL');
      RunFolder.lock(dir).release();
    } finally {
      owner.kill('SIGKILL');
      await exited(owner);
    }
  });
});
