import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pages = [
  join(root, 'README.md'),
  join(root, 'demo', 'README.md'),
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(root, 'docs', f)),
];

/** GitHub's heading anchors: lower case, punctuation dropped (letters of any script kept), spaces → -. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.*)$/.exec(line);
    if (!m) continue;
    const base = m[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Markdown links and images outside code: [text](target). */
function links(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

describe('docs: README and docs/', () => {
  it('README.md fits in 12 KB', () => {
    const size = statSync(join(root, 'README.md')).size;
    assert.ok(size <= 12 * 1024, `README.md is ${size} bytes`);
  });

  for (const page of pages) {
    it(`every link in ${relative(root, page)} resolves (files and #anchors)`, () => {
      const text = readFileSync(page, 'utf8');
      const found = links(text);
      const broken: string[] = [];
      for (const link of found) {
        if (/^[a-z]+:/.test(link)) continue; // http(s), mailto: not checked offline
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? page : resolve(dirname(page), decodeURI(path));
        if (!existsSync(target)) {
          broken.push(`${link}: no file ${relative(root, target)}`);
          continue;
        }
        if (anchor !== undefined && target.endsWith('.md')) {
          const ids = anchors(readFileSync(target, 'utf8'));
          if (!ids.has(decodeURIComponent(anchor).toLowerCase()))
            broken.push(`${link}: no heading #${anchor} in ${relative(root, target)}`);
        }
      }
      assert.deepEqual(broken, [], `broken links in ${relative(root, page)}`);
    });
  }

  it('README shows the demo output of a real run, not a placeholder', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    // The demo output block is filled from a real run, never left as a placeholder.
    assert.ok(!readme.includes('DEMO_OUTPUT'), 'README still holds the DEMO_OUTPUT placeholder');
    assert.match(readme, /npm start/);
  });
});
