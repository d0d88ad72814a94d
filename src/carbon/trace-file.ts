/**
 * Carbon traces: timestamped intensities for replays, demos and `policy simulate`. CSV with a
 * header naming `time` and `intensity` columns (others ignored), or JSON: an array of
 * `{time, intensity}` or `{unit?, kind?, points: [...]}`. Times must increase; errors name the
 * file and line (CSV) or index (JSON).
 */
import { parseJsonText, readTextFile } from '../config/text-file.js';
import type { ForecastPoint, IntensityUnit, SignalKind } from './reading.js';

export interface Trace {
  readonly source: string;
  readonly unit: IntensityUnit;
  readonly kind: SignalKind;
  /** At least two points, strictly increasing in time. */
  readonly points: readonly ForecastPoint[];
}

export class TraceError extends Error {
  override readonly name = 'TraceError';
}

export function readTraceFile(path: string): Trace {
  let text: string;
  try {
    text = readTextFile(path, 'trace');
  } catch (cause) {
    throw new TraceError(`trace ${(cause as Error).message}`, { cause });
  }
  return parseTrace(text, path);
}

/** Parses JSON when the text starts with `[` or `{`, CSV otherwise. */
export function parseTrace(text: string, source: string): Trace {
  const trimmed = text.trimStart();
  const parsed =
    trimmed.startsWith('[') || trimmed.startsWith('{') ? fromJson(text, source) : fromCsv(text, source);
  const { points } = parsed;
  if (points.length < 2) throw new TraceError(`${source}: a trace needs at least two points`);
  for (let k = 1; k < points.length; k++) {
    if (points[k]!.time.getTime() <= points[k - 1]!.time.getTime())
      throw new TraceError(
        `${source}: point ${k + 1}: times must increase (${points[k]!.time.toISOString()})`,
      );
  }
  return { source, ...parsed };
}

function point(time: unknown, intensity: unknown, where: string): ForecastPoint {
  const t = typeof time === 'string' ? new Date(time) : new Date(Number.NaN);
  if (Number.isNaN(t.getTime())) throw new TraceError(`${where}: invalid time ${JSON.stringify(time)}`);
  const v = typeof intensity === 'string' && intensity.trim() !== '' ? Number(intensity) : intensity;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new TraceError(`${where}: intensity must be a number ≥ 0, got ${JSON.stringify(intensity)}`);
  return { time: t, intensity: v };
}

function fromCsv(text: string, source: string): Omit<Trace, 'source'> {
  const lines = text.split(/\r?\n/);
  const skip = (line: string) => line.trim() === '' || line.startsWith('#');
  const h = lines.findIndex((line) => !skip(line));
  const header = (lines[h] ?? '').split(',').map((c) => c.trim().toLowerCase());
  const ti = header.indexOf('time');
  const ii = header.findIndex((c) => c.startsWith('intensity'));
  if (ti < 0 || ii < 0)
    throw new TraceError(`${source}:${h + 1}: the header must name 'time' and 'intensity' columns`);
  const unit: IntensityUnit = header[ii]!.includes('percentile') ? 'percentile' : 'gCO2eq/kWh';
  const points = lines.flatMap((line, k) => {
    if (k <= h || skip(line)) return [];
    const cells = line.split(',');
    return [point(cells[ti]?.trim(), cells[ii]?.trim(), `${source}:${k + 1}`)];
  });
  return { unit, kind: 'average', points };
}

function fromJson(text: string, source: string): Omit<Trace, 'source'> {
  let json: unknown;
  try {
    json = parseJsonText(text, source);
  } catch (cause) {
    throw new TraceError((cause as Error).message, { cause });
  }
  const o = (Array.isArray(json) ? { points: json } : json) as Record<string, unknown>;
  if (!Array.isArray(o.points)) throw new TraceError(`${source}: expected an array or {points: [...]}`);
  const points = o.points.map((p: Record<string, unknown>, k) =>
    point(p?.time, p?.intensity, `${source}: points[${k}]`),
  );
  return {
    unit: o.unit === 'percentile' ? 'percentile' : 'gCO2eq/kWh',
    kind: o.kind === 'marginal' ? 'marginal' : 'average',
    points,
  };
}
