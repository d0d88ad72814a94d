import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_LOG, RunLog, readRunLog } from '../../src/daemon/run-log.js';

describe('daemon/run-log', () => {
  it('reads back what it appended, and skips a last line cut short by a kill', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-runlog-'));
    const log = new RunLog(dir, (m) => assert.fail(m));
    log.append({ type: 'decision', time: '2026-01-01T00:00:00.000Z', rho: 0.5, pause: false, reason: 'r' });
    log.append({ type: 'evaluation', time: '2026-01-01T00:00:01.000Z', when: 'before' });
    writeFileSync(join(dir, RUN_LOG), `${JSON.stringify({ type: 'step' }).slice(0, 5)}`, { flag: 'a' });
    assert.deepEqual(
      readRunLog(dir).map((r) => r.type),
      ['decision', 'evaluation'],
    );
  });

  it('names the file and line of a record that is not one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gt-runlog-'));
    writeFileSync(
      join(dir, RUN_LOG),
      '{"type":"decision","time":"2026-01-01T00:00:00Z"}\nnot json\n{"type":"x","time":"2026-01-01T00:00:00Z"}\n',
    );
    assert.throws(() => readRunLog(dir), new RegExp(`${RUN_LOG}:2: not a run-log record`));
    assert.throws(
      () => readRunLog(join(dir, 'nowhere')),
      /cannot read .*timeline\.jsonl: no such file: is it a run folder the daemon wrote\?/,
    );
  });

  it('reports a failed append once and never throws (a full disk costs the log, not the daemon)', () => {
    // A run folder under a file: mkdir fails for root too.
    const file = join(mkdtempSync(join(tmpdir(), 'gt-runlog-')), 'file');
    writeFileSync(file, '');
    const errors: string[] = [];
    const log = new RunLog(join(file, 'run'), (m) => errors.push(m));
    for (let k = 0; k < 3; k++)
      log.append({ type: 'evaluation', time: '2026-01-01T00:00:00Z', when: 'after' });
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /cannot append to .*timeline\.jsonl: ENOTDIR; the run log stops here/);
  });
});
