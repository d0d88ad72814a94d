/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}`, then the raw
 * little-endian tensor data, offsets relative to the byte after the header.
 *
 * The reader validates the whole header against the file size before any tensor is read, and
 * reads tensors one at a time (never the whole file), upcasting F16/BF16/F64 to float32.
 * The writer pads the header to 8 bytes and writes atomically (temporary file, fsync, rename).
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';

const BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly tensor?: string,
  ) {
    super(`${file}${tensor ? `: tensor ${tensor}` : ''}: ${detail}`);
  }
}

export interface TensorEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Absolute byte range in the file. */
  readonly begin: number;
  readonly end: number;
}

/** An open safetensors file whose header has been read and checked. */
export class SafetensorsReader {
  readonly entries: ReadonlyMap<string, TensorEntry>;
  readonly metadata: Readonly<Record<string, string>>;
  private fd: number | undefined;

  private constructor(
    readonly file: string,
    fd: number,
    entries: Map<string, TensorEntry>,
    metadata: Record<string, string>,
  ) {
    this.fd = fd;
    this.entries = entries;
    this.metadata = metadata;
  }

  static open(file: string): SafetensorsReader {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (cause) {
      throw new CheckpointError(file, `cannot open: ${(cause as Error).message}`);
    }
    try {
      const { entries, metadata } = readHeader(file, fd);
      return new SafetensorsReader(file, fd, entries, metadata);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** Reads one tensor as float32 values. */
  read(name: string): Float32Array {
    const e = this.entries.get(name);
    if (!e) throw new CheckpointError(this.file, 'not in this file', name);
    if (this.fd === undefined) throw new CheckpointError(this.file, 'reader is closed', name);
    const bytes = Buffer.alloc(e.end - e.begin);
    const got = readSync(this.fd, bytes, 0, bytes.length, e.begin);
    if (got !== bytes.length)
      throw new CheckpointError(this.file, `truncated: read ${got} of ${bytes.length} bytes`, name);
    return toFloat32(bytes, e.dtype, this.file, name);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function readHeader(file: string, fd: number) {
  const size = fstatSync(fd).size;
  if (size < 8)
    throw new CheckpointError(file, `truncated: ${size} bytes, too short for the 8-byte header length`);
  const lengthBytes = Buffer.alloc(8);
  readSync(fd, lengthBytes, 0, 8, 0);
  const headerLength = Number(lengthBytes.readBigUInt64LE(0));
  if (headerLength > size - 8) {
    throw new CheckpointError(
      file,
      `truncated or corrupt: header length ${headerLength} exceeds the file (${size} bytes)`,
    );
  }
  const headerBytes = Buffer.alloc(headerLength);
  readSync(fd, headerBytes, 0, headerLength, 8);
  let header: unknown;
  try {
    header = JSON.parse(headerBytes.toString('utf8'));
  } catch {
    throw new CheckpointError(file, 'corrupt header: not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new CheckpointError(file, 'corrupt header: expected a JSON object');
  }
  const dataStart = 8 + headerLength;
  const entries = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    entries.set(name, checkEntry(file, name, raw, dataStart, size));
  }
  return { entries, metadata };
}

function checkEntry(file: string, name: string, raw: unknown, dataStart: number, size: number): TensorEntry {
  const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const fail = (why: string) => new CheckpointError(file, `corrupt header: ${why}`, name);
  if (typeof e?.dtype !== 'string' || !(e.dtype in BYTES))
    throw fail(`unsupported dtype ${JSON.stringify(e?.dtype)}`);
  if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0))
    throw fail('shape must be a list of sizes');
  const offsets = e.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isInteger(o) && o >= 0)
  ) {
    throw fail('data_offsets must be [begin, end]');
  }
  const shape = e.shape as number[];
  const [b, end] = offsets as [number, number];
  const need = shape.reduce((p, d) => p * d, 1) * BYTES[e.dtype]!;
  if (end - b !== need)
    throw fail(`${e.dtype} ${JSON.stringify(shape)} needs ${need} bytes, data_offsets give ${end - b}`);
  if (dataStart + end > size) {
    throw new CheckpointError(
      file,
      `truncated: data ends at byte ${dataStart + end}, file has ${size}`,
      name,
    );
  }
  return { name, dtype: e.dtype, shape, begin: dataStart + b, end: dataStart + end };
}

function toFloat32(bytes: Buffer, dtype: string, file: string, name: string): Float32Array {
  const n = bytes.length / BYTES[dtype]!;
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      // Buffer.alloc gives an aligned buffer of its own; x86 and ARM are little-endian like the file.
      if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n).slice();
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const word = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < n; i++) {
        word.setUint32(0, view.getUint16(2 * i, true) << 16);
        out[i] = word.getFloat32(0);
      }
      return out;
    }
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    default:
      throw new CheckpointError(file, `dtype ${dtype} is not a floating-point weight`, name);
  }
}

/** IEEE 754 binary16 → number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

export interface TensorToWrite {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * Writes float32 tensors as a safetensors file, atomically: readers see the old file or the
 * complete new one, never a partial write.
 */
export function writeSafetensors(
  file: string,
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = {},
): void {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.data.length * 4;
    if (t.shape.reduce((p, d) => p * d, 1) !== t.data.length) {
      throw new CheckpointError(
        file,
        `shape ${JSON.stringify(t.shape)} does not match ${t.data.length} values`,
        t.name,
      );
    }
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, length);
    writeSync(fd, json);
    for (const t of tensors) {
      const le = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      writeSync(fd, le);
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, file);
}
