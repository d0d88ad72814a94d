/** Provider timestamps (`2018-01-20T12:00Z`, `…+00:00`, `….000Z`) as Dates, validated by zod. */
import { z } from 'zod';

/** An ISO 8601 timestamp with a zone designator; anything Date cannot read is a schema issue. */
export const isoTime = z.string().transform((v, ctx) => {
  const t = /(Z|[+-]\d\d:?\d\d)$/.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(t)) {
    ctx.addIssue({
      code: 'custom',
      message: `expected an ISO timestamp with a zone, got '${v.slice(0, 40)}'`,
    });
    return z.NEVER;
  }
  return new Date(t);
});

/** `2020-05-21T21:00Z`: minutes precision, the UK API's path format. */
export function minutePrecision(time: Date): string {
  return `${time.toISOString().slice(0, 16)}Z`;
}
