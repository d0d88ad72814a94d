/**
 * `greentrainer setup-native [--from PATH]`: finds a local TensorFlow C library and builds the
 * native TensorFlow.js backend against it (see src/backend/native/setup.ts).
 */
import { type Search, searchDefaults, sourceAt } from '../backend/native/locate.js';
import { SetupNativeError, setupNative } from '../backend/native/setup.js';
import { packageRoot } from './package-root.js';

export interface SetupNativeOptions {
  readonly from?: string;
}

export function runSetupNative(
  o: SetupNativeOptions,
  log: (line: string) => void,
  search: () => Search = searchDefaults,
): void {
  const root = packageRoot();
  let source = o.from ? sourceAt(o.from) : undefined;
  if (o.from && !source) {
    throw new SetupNativeError(
      `--from ${o.from}: not a TensorFlow wheel (tensorflow[_cpu]-X.Y.Z-…-linux…x86_64.whl), an installed tensorflow ` +
        'package folder (with libtensorflow_cc.so.2), or a libtensorflow folder (with lib/libtensorflow.so.2)',
    );
  }
  if (!source) {
    const found = search();
    log('looked for a TensorFlow C library in:');
    for (const l of found.looked) log(`  ${l.where}: ${l.found}`);
    source = found.sources[0];
    if (!source) {
      throw new SetupNativeError(
        'no TensorFlow C library found. Get one, then run `greentrainer setup-native --from PATH`:\n' +
          '  - CPU: a tensorflow-cpu wheel (pip download --no-deps tensorflow-cpu==2.21.0, on a machine with access to PyPI)\n' +
          '  - GPU: a tensorflow wheel built for CUDA 12 (pip install tensorflow[and-cuda]), or `pip install` it here\n' +
          '  - or a libtensorflow tarball unpacked to a folder with lib/ and include/',
      );
    }
  }
  log(`using ${source.kind} ${source.path}${source.gpu ? ' (GPU build)' : ''}`);
  setupNative({ root, source, log });
}
