import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, SafetensorsReader, writeSafetensors } from '../../src/models/safetensors.js';

/** A safetensors file from a raw header object and data bytes. */
function rawFile(file: string, header: unknown, data: Buffer, lengthOverride?: number): void {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(lengthOverride ?? json.length));
  writeFileSync(file, Buffer.concat([length, json, data]));
}

describe('models/safetensors', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'greentrainer-st-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips float32 tensors with an 8-byte aligned header and metadata', () => {
    const file = join(dir, 'rt.safetensors');
    const a = Float32Array.from([1, -2.5, 3e-8, 4e30, 0, -0]);
    const b = Float32Array.from([7]);
    writeSafetensors(
      file,
      [
        { name: 'a', shape: [2, 3], data: a },
        { name: 'b.weight', shape: [1], data: b },
      ],
      { format: 'pt' },
    );
    const bytes = readFileSync(file);
    assert.equal(Number(bytes.readBigUInt64LE(0)) % 8, 0);
    const r = SafetensorsReader.open(file);
    assert.deepEqual(r.metadata, { format: 'pt' });
    assert.deepEqual(r.entries.get('a')?.shape, [2, 3]);
    assert.deepEqual(Array.from(r.read('a')), Array.from(a));
    assert.deepEqual(Array.from(r.read('b.weight')), [7]);
    r.close();
  });

  it('upcasts F16 and BF16 to float32', () => {
    const file = join(dir, 'half.safetensors');
    const data = Buffer.alloc(12);
    for (const [i, h] of [0x3e00, 0xc000, 0x0400].entries()) data.writeUInt16LE(h, 2 * i); // F16: 1.5, −2, 2^-14
    for (const [i, h] of [0x3fc0, 0xc040, 0x4780].entries()) data.writeUInt16LE(h, 6 + 2 * i); // BF16: 1.5, −3, 65536
    rawFile(
      file,
      {
        h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
        b: { dtype: 'BF16', shape: [3], data_offsets: [6, 12] },
      },
      data,
    );
    const r = SafetensorsReader.open(file);
    assert.deepEqual(Array.from(r.read('h')), [1.5, -2, 2 ** -14]);
    assert.deepEqual(Array.from(r.read('b')), [1.5, -3, 65536]);
    r.close();
  });

  const broken: Array<[string, (file: string) => void, RegExp]> = [
    [
      'a file shorter than the length field',
      (f) => writeFileSync(f, Buffer.alloc(3)),
      /truncated: 3 bytes, too short/,
    ],
    [
      'a header length past the end',
      (f) => rawFile(f, { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4), 1000),
      /header length 1000 exceeds the file/,
    ],
    [
      'a header that is not JSON',
      (f) => writeFileSync(f, Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{{{{')])),
      /corrupt header: not valid JSON/,
    ],
    [
      'an unknown dtype',
      (f) => rawFile(f, { w: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1)),
      /tensor w: corrupt header: unsupported dtype "F8"/,
    ],
    [
      'offsets that disagree with the shape',
      (f) => rawFile(f, { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, Buffer.alloc(12)),
      /tensor w: corrupt header: F32 \[2,2\] needs 16 bytes, data_offsets give 12/,
    ],
    [
      'data cut short',
      (f) => {
        writeSafetensors(f, [{ name: 'w', shape: [4], data: new Float32Array(4) }]);
        truncateSync(f, readFileSync(f).length - 5);
      },
      /tensor w: truncated: data ends at byte \d+, file has \d+/,
    ],
  ];
  for (const [what, make, message] of broken) {
    it(`rejects ${what}, naming the file`, () => {
      const file = join(dir, 'broken.safetensors');
      make(file);
      assert.throws(
        () => SafetensorsReader.open(file),
        (e: unknown) => e instanceof CheckpointError && e.message.startsWith(file) && message.test(e.message),
      );
    });
  }
});
