/**
 * `greentrainer setup-native`: builds `@tensorflow/tfjs-node` (or `-gpu`) against a local
 * TensorFlow C library instead of the libtensorflow 2.9 its installer downloads. Steps: install
 * the package's JavaScript without its install script, lay out `deps/lib` and `deps/include` as
 * its binding.gyp expects, check that the library exports every C function the binding calls,
 * build the addon with npm's node-gyp, and load it. Idempotent; never downloads a library.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import type { LibrarySource } from './locate.js';

export class SetupNativeError extends Error {
  override readonly name = 'SetupNativeError';
}

/** The tfjs-node release the binding sources come from; it must match our tfjs. */
export const TFJS_NODE_VERSION = '4.22.0';
/** The N-API version the addon is built for (node-pre-gyp's `napi-v8` folder). */
const NAPI_VERSION = 8;
/** Header folders of a TensorFlow wheel that the C API headers include. */
const HEADER_DIRS = ['tensorflow/c', 'tensorflow/core/platform', 'tsl', 'xla/tsl'];

export interface SetupContext {
  readonly root: string;
  readonly source: LibrarySource;
  readonly log: (line: string) => void;
}

export interface SetupResult {
  readonly package: string;
  readonly packageDir: string;
  readonly tensorflowVersion: string;
  readonly skipped: boolean;
}

export function setupNative(c: SetupContext): SetupResult {
  const pkg = c.source.gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  const dir = join(c.root, 'node_modules', ...pkg.split('/'));
  const marker = join(dir, 'deps', '.greentrainer-source');
  const stamp = sourceStamp(c.source);
  if (existsSync(marker) && readFileSync(marker, 'utf8') === stamp) {
    const version = verify(c.root, pkg);
    if (version) {
      c.log(`${pkg} is already built against ${c.source.path} (TensorFlow ${version}); nothing to do`);
      return { package: pkg, packageDir: dir, tensorflowVersion: version, skipped: true };
    }
  }
  requireTools();
  step(c, `installing the JavaScript of ${pkg}@${TFJS_NODE_VERSION} (no install script)`, () =>
    run(
      'npm',
      ['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', `${pkg}@${TFJS_NODE_VERSION}`],
      c.root,
    ),
  );
  step(c, `laying out ${join(dir, 'deps')} from ${c.source.kind} ${c.source.path}`, () =>
    layOut(c.source, join(dir, 'deps')),
  );
  step(c, 'checking that the library exports every C function the binding calls', () => checkSymbols(dir));
  step(c, 'building the addon with node-gyp', () => build(dir));
  const version = verify(c.root, pkg);
  if (!version)
    throw new SetupNativeError(
      `the built addon does not load; try: node -e "require('${pkg}')" in ${c.root}`,
    );
  writeFileSync(marker, stamp);
  c.log(`${pkg} loads: backend 'tensorflow', TensorFlow ${version}`);
  return { package: pkg, packageDir: dir, tensorflowVersion: version, skipped: false };
}

function step(c: SetupContext, what: string, f: () => void): void {
  const t0 = performance.now();
  c.log(`… ${what}`);
  f();
  c.log(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

function sourceStamp(s: LibrarySource): string {
  return `${s.kind} ${s.path} ${statSync(s.path).mtimeMs}`;
}

/** A C++ compiler, make and Python (node-gyp runs on it) must be on PATH. */
function requireTools(): void {
  const missing = ['c++', 'make', 'python3'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  );
  if (missing.length > 0) {
    throw new SetupNativeError(
      `missing build tools: ${missing.join(', ')}; on Debian/Ubuntu: apt-get install g++ make python3`,
    );
  }
}

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new SetupNativeError(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${tail}`);
  }
  return r.stdout;
}

/** deps/lib (libtensorflow.so → the C library, and its SONAME) and deps/include, as binding.gyp expects. */
function layOut(source: LibrarySource, deps: string): void {
  rmSync(deps, { recursive: true, force: true });
  const lib = join(deps, 'lib');
  const include = join(deps, 'include');
  mkdirSync(lib, { recursive: true });
  let cc: string;
  let framework: string;
  if (source.kind === 'wheel') {
    // The wheel is a zip; Python's zipfile extracts just the library and the C API headers.
    const members = ['tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'];
    const prefixes = HEADER_DIRS.map((d) => `tensorflow/include/${d}/`);
    const script = [
      'import sys, zipfile, os',
      'z = zipfile.ZipFile(sys.argv[1]); out = sys.argv[2]; want = set(sys.argv[3].split(",")); pre = tuple(sys.argv[4].split(","))',
      'for n in z.namelist():',
      '    if n in want or (n.startswith(pre) and n.endswith(".h")): z.extract(n, out)',
    ].join('\n');
    run('python3', ['-c', script, source.path, deps, members.join(','), prefixes.join(',')], deps);
    cc = join(deps, 'tensorflow', 'libtensorflow_cc.so.2');
    framework = join(deps, 'tensorflow', 'libtensorflow_framework.so.2');
    symlinkSync(join(deps, 'tensorflow', 'include'), include);
  } else if (source.kind === 'package') {
    cc = join(source.path, 'libtensorflow_cc.so.2');
    framework = join(source.path, 'libtensorflow_framework.so.2');
    symlinkSync(join(source.path, 'include'), include);
  } else {
    cc = join(source.path, 'lib', 'libtensorflow.so.2');
    framework = join(source.path, 'lib', 'libtensorflow_framework.so.2');
    symlinkSync(join(source.path, 'include'), include);
  }
  for (const [name, target] of [
    ['libtensorflow.so', cc],
    ['libtensorflow.so.2', cc],
    // The wheel's library is linked by its SONAME.
    ['libtensorflow_cc.so.2', cc],
    ['libtensorflow_framework.so', framework],
    ['libtensorflow_framework.so.2', framework],
  ] as const) {
    if (!existsSync(target)) throw new SetupNativeError(`${source.path} has no ${target}`);
    symlinkSync(target, join(lib, name));
  }
  if (!existsSync(join(include, 'tensorflow', 'c', 'c_api.h'))) {
    throw new SetupNativeError(`${source.path} has no C API headers (tensorflow/c/c_api.h)`);
  }
}

/**
 * The TF_/TFE_ functions the binding's sources call, less its own helpers and the inline ones the
 * headers define, must all be exported by the library.
 */
function checkSymbols(dir: string): void {
  const bindingDir = join(dir, 'binding');
  const sources = readdirSync(bindingDir).map((f) => readFileSync(join(bindingDir, f), 'utf8'));
  const called = new Set(
    sources.flatMap((s) => [...s.matchAll(/\b(TFE?_[A-Z][A-Za-z0-9_]*)\(/g)].map((m) => m[1]!)),
  );
  const own = new Set(
    sources.flatMap((s) => [...s.matchAll(/\b(?:class|struct)\s+(TFE?_\w+)/g)].map((m) => m[1]!)),
  );
  const headers = collectHeaders(join(dir, 'deps', 'include'));
  const inline = new Set([...headers.matchAll(/inline[^;{(]*\b(TFE?_\w+)\s*\(/g)].map((m) => m[1]!));
  const needed = [...called].filter((n) => !own.has(n) && !inline.has(n)).sort();
  // The C API is split between the two libraries (TF_Status and TF_Tensor live in the framework).
  const exported = ['libtensorflow.so', 'libtensorflow_framework.so']
    .map((lib) =>
      execFileSync('nm', ['-D', '--defined-only', join(dir, 'deps', 'lib', lib)], {
        encoding: 'utf8',
        maxBuffer: 512 * 1024 * 1024,
      }),
    )
    .join('\n');
  // Lines read `<address> T TF_Version@@tensorflow`: the name, without its version tag.
  const symbols = new Set(exported.split('\n').map((l) => l.trim().split(/\s+/).at(-1)?.split('@')[0]));
  const missing = needed.filter((n) => !symbols.has(n));
  if (missing.length > 0) {
    throw new SetupNativeError(
      `the library lacks ${missing.length} of the ${needed.length} C functions the binding calls: ${missing.join(', ')}`,
    );
  }
}

function collectHeaders(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter(
      (e) =>
        e.isFile() && e.name.endsWith('.h') && /tensorflow\/c\b|ctstring/.test(join(e.parentPath, e.name)),
    )
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

/** node-gyp from npm's own install, against the headers of the running Node. */
function build(dir: string): void {
  const npmRoot = dirname(dirname(execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim()));
  const gyp = [
    join(npmRoot, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].find(existsSync);
  if (!gyp)
    throw new SetupNativeError(
      `node-gyp not found beside npm (looked in ${npmRoot}/lib/node_modules/npm/node_modules)`,
    );
  const nodedir = nodeHeaders();
  run(
    process.execPath,
    [
      gyp,
      'rebuild',
      ...(nodedir ? [`--nodedir=${nodedir}`] : []),
      '--module_name=tfjs_binding',
      `--module_path=${join(dir, 'lib', `napi-v${NAPI_VERSION}`)}`,
      `--napi_build_version=${NAPI_VERSION}`,
      `-j`,
      String(cpus().length),
    ],
    dir,
  );
}

/** A folder holding this Node's headers (include/node/node_api.h), so node-gyp needs no download. */
function nodeHeaders(): string | undefined {
  const configured = spawnSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8' }).stdout?.trim();
  const candidates = [configured, dirname(dirname(process.execPath))].filter(
    (d): d is string => !!d && d !== 'undefined',
  );
  return candidates.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')));
}

/** Loads the package in a fresh process; returns TensorFlow's version, or undefined. */
export function verify(root: string, pkg: string): string | undefined {
  const probe = `const tf = require('${pkg}'); tf.setBackend('tensorflow'); tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])).dataSync(); console.log(tf.backend().binding.TF_Version)`;
  const r = spawnSync(process.execPath, ['-e', probe], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  if (r.status !== 0) return undefined;
  return r.stdout.trim().split('\n').at(-1) || undefined;
}
