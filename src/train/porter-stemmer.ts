/**
 * The Porter stemmer exactly as NLTK's `PorterStemmer()` runs it by default (mode
 * NLTK_EXTENSIONS), which is what Google's `rouge-score` stems with. npm stemmers implement the
 * original or Martin's variant and differ from it on ~2 % of English words (irregular forms,
 * `ies`/`ied` on short words, the `y → i` condition, `alli`/`fulli`/`logi`).
 *
 * A TypeScript port of nltk/stem/porter.py (NLTK 3.10, Apache License 2.0, © NLTK Project;
 * authors Vivake Gupta, Barry Wilkins, Edward Loper, Steven Bird, Mark Amery), NLTK_EXTENSIONS
 * mode only. Checked against NLTK's own output in test/train/porter-stemmer.test.ts.
 */
type Condition = ((stem: string) => boolean) | null;
type Rule = readonly [suffix: string, replacement: string, condition: Condition];

const POOL: ReadonlyMap<string, string> = new Map(
  Object.entries({
    sky: 'sky',
    skies: 'sky',
    dying: 'die',
    lying: 'lie',
    tying: 'tie',
    news: 'news',
    innings: 'inning',
    inning: 'inning',
    outings: 'outing',
    outing: 'outing',
    cannings: 'canning',
    canning: 'canning',
    howe: 'howe',
    proceed: 'proceed',
    exceed: 'exceed',
    succeed: 'succeed',
  }),
);

const VOWELS = new Set(['a', 'e', 'i', 'o', 'u']);

function consonantFlags(word: string): boolean[] {
  const flags: boolean[] = [];
  for (let i = 0; i < word.length; i++) {
    const ch = word[i]!;
    if (VOWELS.has(ch)) flags.push(false);
    else if (ch === 'y') flags.push(i === 0 ? true : !flags[i - 1]);
    else flags.push(true);
  }
  return flags;
}

const isConsonant = (word: string, i: number) => consonantFlags(word.slice(0, i + 1))[i]!;

function measure(stem: string): number {
  const cv = consonantFlags(stem)
    .map((c) => (c ? 'c' : 'v'))
    .join('');
  return cv.split('vc').length - 1;
}

const positive = (stem: string) => measure(stem) > 0;
const containsVowel = (stem: string) => !consonantFlags(stem).every((c) => c);
const endsDouble = (w: string) => w.length >= 2 && w.at(-1) === w.at(-2) && isConsonant(w, w.length - 1);

function endsCvc(w: string): boolean {
  const n = w.length;
  return (
    (n >= 3 &&
      isConsonant(w, n - 3) &&
      !isConsonant(w, n - 2) &&
      isConsonant(w, n - 1) &&
      !['w', 'x', 'y'].includes(w.at(-1)!)) ||
    (n === 2 && !isConsonant(w, 0) && isConsonant(w, 1))
  );
}

function applyRules(word: string, rules: readonly Rule[]): string {
  for (const [suffix, replacement, condition] of rules) {
    if (suffix === '*d' && endsDouble(word)) {
      const stem = word.slice(0, -2);
      return condition === null || condition(stem) ? stem + replacement : word;
    }
    if (word.endsWith(suffix)) {
      const stem = suffix === '' ? word : word.slice(0, -suffix.length);
      return condition === null || condition(stem) ? stem + replacement : word;
    }
  }
  return word;
}

function step1a(w: string): string {
  if (w.endsWith('ies') && w.length === 4) return `${w.slice(0, -3)}ie`;
  return applyRules(w, [
    ['sses', 'ss', null],
    ['ies', 'i', null],
    ['ss', 'ss', null],
    ['s', '', null],
  ]);
}

function step1b(w: string): string {
  if (w.endsWith('ied')) return w.length === 4 ? `${w.slice(0, -3)}ie` : `${w.slice(0, -3)}i`;
  if (w.endsWith('eed')) {
    const stem = w.slice(0, -3);
    return measure(stem) > 0 ? `${stem}ee` : w;
  }
  let stem: string | undefined;
  for (const suffix of ['ed', 'ing']) {
    if (w.endsWith(suffix) && containsVowel(w.slice(0, -suffix.length))) {
      stem = w.slice(0, -suffix.length);
      break;
    }
  }
  if (stem === undefined) return w;
  const s = stem;
  return applyRules(s, [
    ['at', 'ate', null],
    ['bl', 'ble', null],
    ['iz', 'ize', null],
    ['*d', s.at(-1)!, () => !['l', 's', 'z'].includes(s.at(-1)!)],
    ['', 'e', (x) => measure(x) === 1 && endsCvc(x)],
  ]);
}

const step1c = (w: string) =>
  applyRules(w, [['y', 'i', (s) => s.length > 1 && isConsonant(s, s.length - 1)]]);

function step2(w: string): string {
  if (w.endsWith('alli') && positive(w.slice(0, -4))) return step2(`${w.slice(0, -4)}al`);
  return applyRules(w, [
    ['ational', 'ate', positive],
    ['tional', 'tion', positive],
    ['enci', 'ence', positive],
    ['anci', 'ance', positive],
    ['izer', 'ize', positive],
    ['bli', 'ble', positive],
    ['alli', 'al', positive],
    ['entli', 'ent', positive],
    ['eli', 'e', positive],
    ['ousli', 'ous', positive],
    ['ization', 'ize', positive],
    ['ation', 'ate', positive],
    ['ator', 'ate', positive],
    ['alism', 'al', positive],
    ['iveness', 'ive', positive],
    ['fulness', 'ful', positive],
    ['ousness', 'ous', positive],
    ['aliti', 'al', positive],
    ['iviti', 'ive', positive],
    ['biliti', 'ble', positive],
    ['fulli', 'ful', positive],
    ['logi', 'log', () => positive(w.slice(0, -3))],
  ]);
}

const step3 = (w: string) =>
  applyRules(w, [
    ['icate', 'ic', positive],
    ['ative', '', positive],
    ['alize', 'al', positive],
    ['iciti', 'ic', positive],
    ['ical', 'ic', positive],
    ['ful', '', positive],
    ['ness', '', positive],
  ]);

function step4(w: string): string {
  const gt1 = (s: string) => measure(s) > 1;
  const suffixes = ['al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent'];
  return applyRules(w, [
    ...suffixes.map((s): Rule => [s, '', gt1]),
    ['ion', '', (s) => measure(s) > 1 && ['s', 't'].includes(s.at(-1)!)],
    ...['ou', 'ism', 'ate', 'iti', 'ous', 'ive', 'ize'].map((s): Rule => [s, '', gt1]),
  ]);
}

function step5a(w: string): string {
  if (!w.endsWith('e')) return w;
  const stem = w.slice(0, -1);
  const m = measure(stem);
  return m > 1 || (m === 1 && !endsCvc(stem)) ? stem : w;
}

const step5b = (w: string) => applyRules(w, [['ll', 'l', () => measure(w.slice(0, -1)) > 1]]);

export function porterStem(word: string): string {
  const w = word.toLowerCase();
  const pooled = POOL.get(w);
  if (pooled !== undefined) return pooled;
  if (word.length <= 2) return w;
  return step5b(step5a(step4(step3(step2(step1c(step1b(step1a(w))))))));
}
