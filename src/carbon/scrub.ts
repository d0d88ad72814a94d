/**
 * Scrubbing credentials out of text that came from upstream (error bodies, `Location` headers):
 * a server may quote the token it refused. Each value is replaced as it is, URL-encoded and, for
 * HTTP Basic, base64-encoded, before the text reaches an error, a log line or `/v1/status`.
 */

const REDACTED = '[redacted]';

/** Secrets shorter than this are not scrubbed: they would mangle ordinary words. */
const MIN_LENGTH = 4;

/** `text` with every occurrence of every value (and its URL-encoded form) replaced by `[redacted]`. */
export function scrubSecrets(text: string, values: readonly string[]): string {
  let out = text;
  for (const v of values) {
    if (v.length < MIN_LENGTH) continue;
    for (const form of new Set([v, encodeURIComponent(v)])) out = out.split(form).join(REDACTED);
  }
  return out;
}

/** The credentials a request carries: auth headers' values (and bare bearer tokens), Basic auth. */
export function requestSecrets(request: {
  readonly headers?: Record<string, string>;
  readonly auth?: { readonly username: string; readonly password: string };
}): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (!/^(authorization|auth-token|x-api-key|api-key|token)$/i.test(name)) continue;
    out.push(value, value.replace(/^(Bearer|Basic)\s+/i, ''));
  }
  const auth = request.auth;
  if (auth) {
    out.push(auth.password, Buffer.from(`${auth.username}:${auth.password}`).toString('base64'));
  }
  return out;
}
