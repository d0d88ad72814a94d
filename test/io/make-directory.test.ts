import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirectory } from '../../src/io/make-directory.js';

describe('io/makeDirectory: mkdir -p that always ends', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gt-mkdir-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes every missing level, and accepts a folder that exists', () => {
    const deep = join(dir, 'a', 'b', 'c');
    makeDirectory(deep);
    assert.ok(statSync(deep).isDirectory());
    makeDirectory(deep);
    makeDirectory(join(dir, 'a'));
  });

  it('throws the failing level’s error where a file, a broken link or /proc is in the way', function () {
    writeFileSync(join(dir, 'file'), '');
    assert.throws(() => makeDirectory(join(dir, 'file', 'x')), { code: 'ENOTDIR' });
    assert.throws(() => makeDirectory(join(dir, 'file')), { code: 'EEXIST' });
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
    assert.throws(() => makeDirectory(join(dir, 'dangling', 'out')), { code: 'ENOENT' });
    let proc = false;
    try {
      proc = statSync('/proc/self').isDirectory();
    } catch {}
    if (!proc) {
      console.log('      skipped the /proc case: no /proc on this system');
      return this.skip();
    }
    // Node's `mkdirSync(path, { recursive: true })` never returns on these.
    assert.throws(() => makeDirectory('/proc/greentrainer-run'), {
      code: 'ENOENT',
      path: '/proc/greentrainer-run',
    });
    assert.throws(() => makeDirectory('/proc/self/x/run'), { code: 'ENOENT', path: '/proc/self/x' });
  });
});
