import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { searchDefaults, sourceAt } from '../../src/backend/native/locate.js';
import { SetupNativeError } from '../../src/backend/native/setup.js';
import { runSetupNative } from '../../src/commands/setup-native.js';

describe('backend/native (setup-native)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'greentrainer-native-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('recognises a CPU wheel, a GPU wheel, an installed package folder and a libtensorflow folder', () => {
    const cpu = join(dir, 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl');
    const gpu = join(dir, 'tensorflow-2.20.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl');
    for (const f of [cpu, gpu]) writeFileSync(f, '');
    mkdirSync(join(dir, 'site', 'tensorflow'), { recursive: true });
    writeFileSync(join(dir, 'site', 'tensorflow', 'libtensorflow_cc.so.2'), '');
    mkdirSync(join(dir, 'libtf', 'lib'), { recursive: true });
    writeFileSync(join(dir, 'libtf', 'lib', 'libtensorflow.so.2'), '');
    assert.deepEqual(sourceAt(cpu), { kind: 'wheel', path: cpu, gpu: false });
    assert.deepEqual(sourceAt(gpu), { kind: 'wheel', path: gpu, gpu: true });
    assert.equal(sourceAt(join(dir, 'site', 'tensorflow'))?.kind, 'package');
    assert.equal(sourceAt(join(dir, 'libtf'))?.kind, 'libtensorflow');
    assert.equal(sourceAt(join(dir, 'numpy-2.0.0-cp311-cp311-manylinux_2_17_x86_64.whl')), undefined);
    assert.equal(sourceAt(join(dir, 'nothing-here')), undefined);
  });

  it("looks in pip's find-links folders and beside its local file:// indexes", () => {
    const wheels = join(dir, 'pip', 'files');
    mkdirSync(wheels, { recursive: true });
    writeFileSync(join(wheels, 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl'), '');
    const pipConfig = [
      `:env:.find-links='${join(dir, 'empty')}'`,
      `global.extra-index-url='file://${join(dir, 'pip', 'simple')} https://example.invalid/simple'`,
    ].join('\n');
    const search = searchDefaults((_cmd, args) => (args.includes('config') ? pipConfig : ''));
    assert.deepEqual(
      search.looked.map((l) => l.where),
      ['installed Python packages (python3)', `pip folder ${join(dir, 'empty')}`, `pip folder ${wheels}`],
    );
    assert.equal(
      search.sources[0]?.path,
      join(wheels, 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl'),
    );
  });

  it('explains what it looked for and how to get a library when there is none, and changes nothing', () => {
    const installed = () => {
      try {
        createRequire(import.meta.url).resolve('@tensorflow/tfjs-node/package.json');
        return true;
      } catch {
        return false;
      }
    };
    const before = installed();
    const lines: string[] = [];
    const none = () => ({
      looked: [{ where: 'pip folder /opt/wheels', found: 'no TensorFlow wheel' }],
      sources: [],
    });
    assert.throws(
      () => runSetupNative({}, (l) => lines.push(l), none),
      (e: unknown) =>
        e instanceof SetupNativeError &&
        /^no TensorFlow C library found\. Get one, then run `greentrainer setup-native --from PATH`:\n {2}- CPU: a tensorflow-cpu wheel/.test(
          e.message,
        ),
    );
    assert.deepEqual(lines, [
      'looked for a TensorFlow C library in:',
      '  pip folder /opt/wheels: no TensorFlow wheel',
    ]);
    assert.equal(installed(), before);
  });

  it('refuses a --from path that is not a TensorFlow library', () => {
    const bogus = join(dir, 'model.bin');
    writeFileSync(bogus, '');
    assert.throws(
      () => runSetupNative({ from: bogus }, () => {}),
      /--from .*model\.bin: not a TensorFlow wheel/,
    );
    assert.ok(!existsSync(join(dir, 'deps')));
  });
});
