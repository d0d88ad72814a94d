/**
 * Finding a TensorFlow C library to build the tfjs-node binding against: a pip wheel, an
 * installed TensorFlow package folder, or a libtensorflow folder. By default it looks where pip
 * looks (its find-links folders and local `file://` indexes) and in the installed Python packages.
 * Nothing is downloaded.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export type LibrarySource =
  | { readonly kind: 'wheel'; readonly path: string; readonly gpu: boolean }
  | { readonly kind: 'package'; readonly path: string; readonly gpu: boolean }
  | { readonly kind: 'libtensorflow'; readonly path: string; readonly gpu: boolean };

export interface Search {
  /** Every place looked at, in order, with what was found there. */
  readonly looked: ReadonlyArray<{ readonly where: string; readonly found: string }>;
  readonly sources: readonly LibrarySource[];
}

/** TensorFlow wheels: `tensorflow_cpu-…whl` (CPU) or `tensorflow-…whl` (CUDA on Linux). */
const WHEEL = /^tensorflow(_cpu)?-\d+\.\d+\.\d+-.*linux.*x86_64\.whl$/;

/** Classifies an explicit `--from` path. */
export function sourceAt(path: string): LibrarySource | undefined {
  if (!existsSync(path)) return undefined;
  if (statSync(path).isFile()) {
    return WHEEL.test(basename(path))
      ? { kind: 'wheel', path, gpu: !basename(path).startsWith('tensorflow_cpu') }
      : undefined;
  }
  if (existsSync(join(path, 'libtensorflow_cc.so.2')))
    return { kind: 'package', path, gpu: existsSync(join(path, '..', 'nvidia')) };
  if (existsSync(join(path, 'lib', 'libtensorflow.so.2'))) {
    return {
      kind: 'libtensorflow',
      path,
      gpu: readdirSync(join(path, 'lib')).some((f) => f.includes('cuda')),
    };
  }
  return undefined;
}

/** Looks in the installed Python packages and in pip's local wheel folders. */
export function searchDefaults(run: (cmd: string, args: string[]) => string = quiet): Search {
  const looked: Array<{ where: string; found: string }> = [];
  const sources: LibrarySource[] = [];
  const site = run('python3', [
    '-c',
    "import importlib.util as u; s = u.find_spec('tensorflow'); print(s.submodule_search_locations[0] if s else '')",
  ]).trim();
  const installed = site ? sourceAt(site) : undefined;
  looked.push({
    where: 'installed Python packages (python3)',
    found: installed ? installed.path : 'no tensorflow package',
  });
  if (installed) sources.push(installed);
  for (const dir of pipFolders(run)) {
    const wheels = existsSync(dir) ? readdirSync(dir).filter((f) => WHEEL.test(f)) : [];
    looked.push({
      where: `pip folder ${dir}`,
      found: wheels.length > 0 ? wheels.join(', ') : 'no TensorFlow wheel',
    });
    for (const w of wheels.sort().reverse())
      sources.push({ kind: 'wheel', path: join(dir, w), gpu: !w.startsWith('tensorflow_cpu') });
  }
  return { looked, sources };
}

/** pip's find-links folders and the `files` folders beside its local `file://…/simple` indexes. */
function pipFolders(run: (cmd: string, args: string[]) => string): string[] {
  const out = run('python3', ['-m', 'pip', 'config', 'list']);
  const folders: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^[\w:.-]*\.(find-links|extra-index-url|index-url)='(.*)'$/.exec(line.trim());
    if (!m) continue;
    for (const value of m[2]!.split(/\s+/).filter(Boolean)) {
      if (m[1] === 'find-links') folders.push(value.replace(/^file:\/\//, ''));
      else if (value.startsWith('file://'))
        folders.push(join(dirname(value.slice('file://'.length).replace(/\/$/, '')), 'files'));
    }
  }
  return [...new Set(folders)];
}

function quiet(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}
