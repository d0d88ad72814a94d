import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileError } from '../../src/config/yaml-file.js';
import { readDaemonConfig } from '../../src/daemon/config.js';

const REST =
  'policy:\n  map: { type: steps, default: 0.9, steps: [[200, 0.6]] }\njob:\n  model: m\n  dataset: { path: d }\n  output: o\n';

function write(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gt-cfg-')), 'daemon.yaml');
  writeFileSync(file, text);
  return file;
}

describe('daemon/config', () => {
  it('reads carbon durations once, into milliseconds', () => {
    const c = readDaemonConfig(
      write(`carbon:\n  provider: uk-carbon-intensity\n  timeout: 10s\n  stale_after: 30m\n${REST}`),
    );
    assert.equal(c.carbon.timeout, 10_000);
    assert.equal(c.carbon.stale_after, 1_800_000);
    assert.equal(c.startup_wait, 5000);
  });

  it('refuses an invalid cron expression in carbon.poll with its file, line and column', () => {
    const file = write(`carbon:\n  provider: static\n  intensity: 100\n  poll: "61 * * * *"\n${REST}`);
    assert.throws(
      () => readDaemonConfig(file),
      (e: unknown) =>
        e instanceof ConfigFileError &&
        e.message.includes(
          `${file}:4:9: carbon.poll: invalid cron expression '61 * * * *' (5 fields, or 6 with seconds first, e.g. "*/5 * * * *")`,
        ),
    );
  });

  it('reads the energy meter interval (default 5 s) and refuses one too short to be a timer', () => {
    assert.equal(readDaemonConfig(write(REST)).energy.sample_interval, 5000);
    assert.equal(
      readDaemonConfig(write(`${REST}energy: { sample_interval: 2s }\n`)).energy.sample_interval,
      2000,
    );
    const file = write(`${REST}energy: { sample_interval: 0s }\n`);
    assert.throws(
      () => readDaemonConfig(file),
      (e: unknown) =>
        e instanceof ConfigFileError && e.message.includes('energy.sample_interval: expected at least 100ms'),
    );
  });

  it('accepts 5- and 6-field cron expressions', () => {
    for (const poll of ['*/5 * * * *', '*/10 * * * * *']) {
      const c = readDaemonConfig(
        write(`carbon:\n  provider: static\n  intensity: 1\n  poll: "${poll}"\n${REST}`),
      );
      assert.equal(c.carbon.poll, poll);
    }
  });
});
