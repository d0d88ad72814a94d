/**
 * Replays a recorded or synthetic intensity trace (CSV `time,intensity` with a header, or a JSON
 * array of `{time, intensity}`), optionally sped up: with `speed` 720 a day passes in two
 * minutes. Trace time t maps to wall time `startedAt + (t − t0) / speed`, so readings carry
 * wall-clock times and their age means what it says. At the end it loops (or holds the last
 * point with `loop: false`, which then grows stale).
 */
import { readFileSync } from 'node:fs';
import type { CarbonProvider } from './provider.js';
import { type ForecastPoint, ProviderError, type Reading } from './reading.js';

export interface TracePoint {
  readonly time: Date;
  readonly intensity: number;
}

export class TraceFileError extends Error {
  override readonly name = 'TraceFileError';
}

export function readTrace(file: string): TracePoint[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new TraceFileError(`cannot read trace ${file}: ${(cause as Error).message}`);
  }
  const points = text.trimStart().startsWith('[') ? fromJson(file, text) : fromCsv(file, text);
  if (points.length < 2) throw new TraceFileError(`${file}: a trace needs at least two points`);
  for (let i = 1; i < points.length; i++) {
    if (points[i]!.time <= points[i - 1]!.time)
      throw new TraceFileError(
        `${file}: point ${i + 1} (${points[i]!.time.toISOString()}) is not after the one before`,
      );
  }
  return points;
}

function point(file: string, where: string, time: unknown, intensity: unknown): TracePoint {
  const t = new Date(String(time));
  const v = Number(intensity);
  if (Number.isNaN(t.getTime()))
    throw new TraceFileError(`${file}:${where}: '${time}' is not an ISO-8601 time`);
  if (!Number.isFinite(v) || v < 0)
    throw new TraceFileError(`${file}:${where}: intensity '${intensity}' is not a number ≥ 0`);
  return { time: t, intensity: v };
}

function fromCsv(file: string, text: string): TracePoint[] {
  const lines = text.split('\n').map((l) => l.trim());
  const header = lines[0]?.split(',').map((h) => h.trim().toLowerCase()) ?? [];
  const ti = header.indexOf('time');
  const vi = header.indexOf('intensity');
  if (ti < 0 || vi < 0)
    throw new TraceFileError(`${file}:1: expected a header with 'time' and 'intensity' columns`);
  return lines.slice(1).flatMap((line, i) => {
    if (line === '' || line.startsWith('#')) return [];
    const f = line.split(',');
    return [point(file, String(i + 2), f[ti], f[vi])];
  });
}

function fromJson(file: string, text: string): TracePoint[] {
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch (cause) {
    throw new TraceFileError(`${file}: invalid JSON (${(cause as Error).message})`);
  }
  if (!Array.isArray(rows)) throw new TraceFileError(`${file}: expected an array of {time, intensity}`);
  return rows.map((r, i) =>
    point(
      file,
      `record ${i + 1}`,
      (r as { time?: unknown })?.time,
      (r as { intensity?: unknown })?.intensity,
    ),
  );
}

export interface TraceOptions {
  readonly speed?: number;
  readonly loop?: boolean;
  readonly region?: string;
  /** Wall time the replay starts at (default: the first call). */
  readonly startedAt?: Date;
}

export class TraceProvider implements CarbonProvider {
  readonly name = 'trace';
  readonly region: string;
  private startedAt: number | undefined;
  private readonly speed: number;
  private readonly span: number;

  constructor(
    private readonly points: readonly TracePoint[],
    private readonly o: TraceOptions = {},
  ) {
    this.region = o.region ?? 'trace';
    this.speed = o.speed ?? 1;
    this.startedAt = o.startedAt?.getTime();
    const first = points[0]!.time.getTime();
    const last = points.at(-1)!.time.getTime();
    // The last point lasts as long as the step before it.
    this.span = last - first + (last - points.at(-2)!.time.getTime());
  }

  /** Wall time → position in the trace (ms since its first point) and the lap it is on. */
  private position(now: Date): { offset: number; lap: number } {
    this.startedAt ??= now.getTime();
    const elapsed = Math.max(0, (now.getTime() - this.startedAt) * this.speed);
    if (this.o.loop === false) return { offset: Math.min(elapsed, this.span - 1), lap: 0 };
    return { offset: elapsed % this.span, lap: Math.floor(elapsed / this.span) };
  }

  private toWall(offset: number, lap: number): Date {
    return new Date(this.startedAt! + (lap * this.span + offset) / this.speed);
  }

  async current(now: Date): Promise<Reading> {
    const { offset, lap } = this.position(now);
    const t0 = this.points[0]!.time.getTime();
    let k = 0;
    while (k + 1 < this.points.length && this.points[k + 1]!.time.getTime() - t0 <= offset) k++;
    const p = this.points[k];
    if (!p) throw new ProviderError(this.name, 'bad_response', 'empty trace');
    return {
      provider: this.name,
      region: this.region,
      time: this.toWall(p.time.getTime() - t0, lap),
      intensity: p.intensity,
      unit: 'gCO2/kWh',
      kind: 'average',
    };
  }

  /** The trace ahead as a perfect forecast, in wall time. */
  async forecast(hours: number, now: Date): Promise<readonly ForecastPoint[]> {
    const { offset, lap } = this.position(now);
    const t0 = this.points[0]!.time.getTime();
    const horizon = hours * 3600_000 * this.speed;
    const out: ForecastPoint[] = [];
    for (let l = lap; out.length < 10_000; l++) {
      for (const p of this.points) {
        const at = (l - lap) * this.span + (p.time.getTime() - t0) - offset;
        if (at < 0) continue;
        if (at > horizon) return out;
        out.push({ time: this.toWall(p.time.getTime() - t0, l), intensity: p.intensity });
      }
      if (this.o.loop === false) break;
    }
    return out;
  }
}
