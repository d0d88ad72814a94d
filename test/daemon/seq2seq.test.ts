import { strict as assert } from 'node:assert';
import { testBackend, useBackend } from '../helpers/backend.js';
import {
  type DaemonProcess,
  daemonSetup,
  getJson,
  logRecords,
  startDaemon,
  until,
} from '../helpers/daemon.js';

describe('daemon: an encoder-decoder job (T5)', function () {
  this.timeout(180_000);
  let d: DaemonProcess | undefined;

  after(async () => {
    if (d && d.child.exitCode === null) {
      d.child.kill('SIGKILL');
      await d.exited;
    }
  });

  it('trains a tiny T5 under the policy and stops cleanly on SIGTERM', async () => {
    await useBackend(testBackend());
    const s = await daemonSetup('t5');
    const daemon = startDaemon(s.configFile);
    d = daemon;
    const exited = daemon.exited.then(() => {
      throw new Error(`the daemon exited:\n${daemon.output.slice(-20).join('\n')}`);
    });
    const status = async () =>
      (await getJson(`${s.url}/v1/status`)).body as { job: { step: number; selections: number } };
    await Promise.race([
      until('the daemon to train T5', async () => (await status()).job.step >= 3, 120_000),
      exited,
    ]);
    assert.ok((await status()).job.selections >= 1);
    daemon.child.kill('SIGTERM');
    const { code } = await daemon.exited;
    assert.equal(code, 0);
    assert.ok(logRecords(daemon).some((r) => r.message === 'trainer state' && r.state === 'stopped'));
  });
});
