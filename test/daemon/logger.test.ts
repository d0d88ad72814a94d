import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { createLogger, roundNumbers, Secrets } from '../../src/daemon/logger.js';

function capture(format: 'json' | 'pretty'): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (d: Buffer) => lines.push(...String(d).split('\n').filter(Boolean)));
  return { lines, log: createLogger({ format, secrets: new Secrets(), stream }) };
}

describe('daemon/logger: numbers rounded for people', () => {
  it('writes ρ 0.916, not 0.9159999999999999, in JSON and pretty lines; integers and big counts untouched', async () => {
    for (const format of ['json', 'pretty'] as const) {
      const { lines, log } = capture(format);
      log.info('decision', {
        rho: 0.9159999999999999,
        flops: 123456789012345,
        nested: { g: 0.30000000000000004 },
        list: [1 / 3],
      });
      await new Promise((r) => setImmediate(r));
      const line = lines.join('\n');
      assert.match(line, /"rho":0\.916[,}]/, line);
      assert.match(line, /"flops":123456789012345[,}]/, line);
      assert.match(line, /"g":0\.3[,}]/, line);
      assert.match(line, /\[0\.333333\]/, line);
      assert.ok(!line.includes('0.9159999'), line);
    }
  });

  it('leaves non-finite numbers, strings and class instances as they are', () => {
    const d = new Date(0);
    assert.deepEqual(roundNumbers({ a: Number.POSITIVE_INFINITY, s: '0.9159999999999999', d }), {
      a: Number.POSITIVE_INFINITY,
      s: '0.9159999999999999',
      d,
    });
  });
});
