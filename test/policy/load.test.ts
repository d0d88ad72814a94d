import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PolicyFileError, parsePolicy, readPolicyFile } from '../../src/policy/load.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const POLICIES = `${root}config/policies`;
const BAD = `${root}test/fixtures/policies/bad`;

describe('policy/load', () => {
  for (const name of readdirSync(POLICIES)) {
    it(`accepts the example policy ${name}`, () => {
      const p = readPolicyFile(`${POLICIES}/${name}`);
      assert.ok(p.rho_min > 0 && p.rho_min <= p.rho_max);
    });
  }

  it('gives balanced.yaml ρ 0.6 at a typical 200 g/kWh, as the paper recommends', () => {
    const p = readPolicyFile(`${POLICIES}/balanced.yaml`);
    assert.deepEqual(p.map.type === 'linear' && p.map.points[1], [200, 0.6]);
  });

  it('accepts the block with or without a top-level policy key, with the same result', () => {
    const block = 'map: { type: steps, steps: [[300, 0.5]] }\nmin_dwell: 15m\n';
    const wrapped = `policy:\n${block.replace(/^/gm, '  ')}`;
    assert.deepEqual(parsePolicy(block, 'a.yaml'), parsePolicy(wrapped, 'b.yaml'));
    assert.equal(parsePolicy(block, 'a.yaml').min_dwell, 900_000);
  });

  const bad = readdirSync(BAD).filter((f) => f.endsWith('.yaml'));
  it('has at least ten malformed policies to check', () => assert.ok(bad.length >= 10));
  for (const name of bad) {
    const file = `${BAD}/${name}`;
    const expected = /^# expect: (\d+):(\d+) (.*)$/m.exec(readFileSync(file, 'utf8'))!;
    it(`rejects ${name} naming the file, line ${expected[1]}, column ${expected[2]} and the problem`, () => {
      assert.throws(
        () => readPolicyFile(file),
        (e: unknown) => {
          assert.ok(e instanceof PolicyFileError);
          assert.ok(e.message.includes(`${file}:${expected[1]}:${expected[2]}: ${expected[3]}`), e.message);
          return true;
        },
      );
    });
  }
});
