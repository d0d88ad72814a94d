/**
 * The daemon's logger: winston, JSON lines on stdout (journald keeps them) or a readable line in
 * a terminal. Every secret the daemon loaded is registered here and replaced by `[redacted]` in
 * messages and fields before anything is written.
 */
import winston from 'winston';

export type Level = 'error' | 'warn' | 'info' | 'debug';

export interface Logger {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

/** Secret values to scrub from all output (tokens, passwords, API keys). */
export class Secrets {
  private readonly values = new Set<string>();

  add(value: string | undefined): void {
    if (value && value.length >= 4) this.values.add(value);
  }

  redact(text: string): string {
    let out = text;
    for (const v of this.values) out = out.split(v).join('[redacted]');
    return out;
  }
}

export interface LoggerOptions {
  readonly level?: Level;
  readonly format?: 'json' | 'pretty' | 'auto';
  readonly secrets: Secrets;
  /** Where lines go (default stdout); tests capture them. */
  readonly stream?: NodeJS.WritableStream;
}

export function createLogger(o: LoggerOptions): winston.Logger {
  const pretty = o.format === 'pretty' || ((o.format ?? 'auto') === 'auto' && process.stdout.isTTY === true);
  const redact = winston.format((info) => {
    const scrubbed = JSON.parse(o.secrets.redact(JSON.stringify(info)));
    return Object.assign(info, scrubbed);
  });
  const round = winston.format((info) => {
    for (const key of Object.keys(info)) info[key] = roundNumbers(info[key]);
    return info;
  });
  const line = pretty
    ? winston.format.printf(({ level, message, timestamp, ...meta }) => {
        const rest = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
        return `${timestamp} ${level.padEnd(5)} ${message}${rest}`;
      })
    : winston.format.json();
  return winston.createLogger({
    level: o.level ?? 'info',
    format: winston.format.combine(winston.format.timestamp(), redact(), round(), line),
    transports: [new winston.transports.Stream({ stream: o.stream ?? process.stdout })],
  });
}

/**
 * Numbers as people read them: six significant digits (ρ 0.916, not 0.9159999999999999), integers
 * and non-finite values as they are, in nested plain objects and arrays too.
 */
export function roundNumbers(v: unknown, depth = 0): unknown {
  if (typeof v === 'number') return Number.isInteger(v) || !Number.isFinite(v) ? v : Number(v.toPrecision(6));
  if (depth > 8 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => roundNumbers(x, depth + 1));
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, roundNumbers(x, depth + 1)]));
}
