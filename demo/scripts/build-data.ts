/**
 * Builds the demo summarisation data set and the pretraining corpus from Debian's package
 * descriptions (`Translation-en` from the apt lists: `apt-get update -o Acquire::Languages=en`):
 * the long description is the source, the one-line synopsis its summary — an "abstract → TL;DR"
 * task like SciTLDR, written by thousands of Debian maintainers, not by us.
 *
 *   tsx demo/scripts/build-data.ts [Translation-en.lz4]
 *
 * Cleaning: markup (" ." paragraph lines) removed; transitional/dummy, debug-symbol and
 * documentation packages dropped; near-duplicates (packages of one source sharing a description)
 * collapsed by their opening words; sources of 25–120 words and synopses of 3–14 words kept.
 * Split fixed by seed: 4000 train, 300 validation, 300 test. Every description not in validation
 * or test (and not a near-duplicate of one) goes to the pretraining corpus, demo/.work/corpus.txt.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shuffledOrder } from '../../src/train/data.js';

const LIST =
  process.argv[2] ?? '/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_i18n_Translation-en.lz4';
const ROOT = new URL('..', import.meta.url).pathname;
const SEED = 20241122;
const SIZES = { train: 4000, validation: 300, test: 300 };

interface Entry {
  readonly pkg: string;
  readonly synopsis: string;
  readonly long: string;
}

function parse(text: string): Entry[] {
  return text.split('\n\n').flatMap((block) => {
    const pkg = /^Package: (.+)$/m.exec(block)?.[1];
    const m = /^Description-en: (.*)\n((?: .*(?:\n|$))*)/m.exec(block);
    if (!pkg || !m) return [];
    const long = m[2]!
      .split('\n')
      .map((l) => l.replace(/^ /, ''))
      .map((l) => (l.trim() === '.' ? '\n' : l.trim()))
      .join(' ')
      .replace(/ *\n */g, '\n')
      .replace(/[ \t]+/g, ' ')
      .trim();
    return [{ pkg, synopsis: m[1]!.trim(), long }];
  });
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
const BORING =
  /transitional|dummy package|debug(ging)? symbols|documentation|-(doc|dbg|dbgsym)(-|$)|metapackage|virtual package/i;

function usable(e: Entry): boolean {
  if (BORING.test(e.synopsis) || BORING.test(e.pkg)) return false;
  const n = words(e.long);
  const s = words(e.synopsis);
  return n >= 25 && n <= 120 && s >= 3 && s <= 14;
}

const key = (e: Entry) =>
  e.long
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(' ')
    .slice(0, 40)
    .join(' ');

const entries = parse(execFileSync('lz4', ['-dc', LIST], { maxBuffer: 1 << 30 }).toString('utf8'));
const groups = new Map<string, Entry[]>();
for (const e of entries) groups.set(key(e), [...(groups.get(key(e)) ?? []), e]);
const candidates = [...groups.values()].map((g) => g[0]!).filter(usable);
const order = shuffledOrder(candidates.length, SEED, 0).map((i) => candidates[i]!);
const split = {
  test: order.slice(0, SIZES.test),
  validation: order.slice(SIZES.test, SIZES.test + SIZES.validation),
  train: order.slice(SIZES.test + SIZES.validation, SIZES.test + SIZES.validation + SIZES.train),
};
const held = new Set([...split.test, ...split.validation].map(key));
const record = (e: Entry) =>
  JSON.stringify({ package: e.pkg, source: e.long.replace(/\n/g, ' '), target: e.synopsis });
mkdirSync(join(ROOT, 'data'), { recursive: true });
for (const [name, xs] of Object.entries(split)) {
  writeFileSync(join(ROOT, 'data', `${name}.jsonl`), `${xs.map(record).join('\n')}\n`);
}
const corpus = entries.filter((e) => !held.has(key(e))).map((e) => `${e.synopsis}\n${e.long}`);
mkdirSync(join(ROOT, '.work'), { recursive: true });
writeFileSync(join(ROOT, '.work', 'corpus.txt'), `${corpus.join('\n\n')}\n`);
console.log(
  `${entries.length} descriptions, ${groups.size} after collapsing near-duplicates, ${candidates.length} usable; ` +
    `wrote ${SIZES.train}/${SIZES.validation}/${SIZES.test} examples; corpus ${corpus.length} descriptions, ` +
    `${corpus.reduce((a, t) => a + words(t), 0)} words`,
);
