/**
 * The HTTP client every provider shares: one axios instance per provider, and one function that
 * turns a response into validated data or a `CarbonError` with a reason. Bodies are read as text so
 * that HTML error pages and truncated JSON are reported as such rather than as parser crashes.
 *
 * Each request has one deadline for the whole exchange, headers and body (axios's own `timeout`
 * stops counting once the headers arrive, so a body that trickles would hang forever), and a size
 * cap. Redirects are not followed. Upstream text that reaches an error is scrubbed of the
 * request's credentials.
 */
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { z } from 'zod';
import { CarbonError, type CarbonErrorReason } from './errors.js';
import { requestSecrets, scrubSecrets } from './scrub.js';
import type { Secret } from './secret.js';

/** The UK API can take seconds; beyond this a poll is better retried than waited for. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** The largest answer read: a 72 h WattTime forecast is ~100 kB; anything 50× that is not data. */
export const MAX_RESPONSE_BYTES = 5 * 1024 * 1024;

export interface HttpClient {
  readonly axios: AxiosInstance;
  /** Deadline of one request, headers and body. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** Credentials scrubbed from upstream text besides those the request itself carries. */
  readonly secrets: readonly Secret[];
}

export interface HttpOptions {
  readonly maxBytes?: number;
  readonly secrets?: readonly Secret[];
}

export function createHttp(baseUrl: string, timeoutMs: number, o: HttpOptions = {}): HttpClient {
  const maxBytes = o.maxBytes ?? MAX_RESPONSE_BYTES;
  const instance = axios.create({
    baseURL: baseUrl,
    headers: { Accept: 'application/json' },
    responseType: 'text',
    transformResponse: (body: unknown) => body,
    validateStatus: () => true,
    maxRedirects: 0,
    maxContentLength: maxBytes,
    proxy: false,
  });
  return { axios: instance, timeoutMs, maxBytes, secrets: o.secrets ?? [] };
}

export interface RequestOptions {
  readonly params?: Record<string, string>;
  readonly headers?: Record<string, string>;
  readonly auth?: { readonly username: string; readonly password: string };
  /** Aborts the request (the daemon stops); the error is then not a failure of the provider. */
  readonly signal?: AbortSignal | undefined;
}

/** Performs a GET and returns the body validated by `schema`. */
export async function getJson<S extends z.ZodType>(
  http: HttpClient,
  provider: string,
  path: string,
  schema: S,
  request: RequestOptions = {},
): Promise<z.infer<S>> {
  const where = `GET ${path}`;
  const secrets = [...http.secrets.map((s) => s.reveal()), ...requestSecrets(request)];
  const fail = (reason: CarbonErrorReason, detail: string, retryAfterMs?: number) =>
    new CarbonError(provider, reason, scrubSecrets(`${where}: ${detail}`, secrets), { retryAfterMs });
  const deadline = AbortSignal.timeout(http.timeoutMs);
  const { signal: outer, ...rest } = request;
  let response: AxiosResponse<unknown>;
  try {
    response = await http.axios.get(path, {
      ...rest,
      signal: outer ? AbortSignal.any([deadline, outer]) : deadline,
    });
  } catch (error) {
    if (outer?.aborted) throw fail('network', 'cancelled');
    if (deadline.aborted) throw fail('timeout', `no complete answer within ${http.timeoutMs} ms`);
    throw transportError(error, http.maxBytes, fail);
  }
  const body = typeof response.data === 'string' ? response.data : String(response.data ?? '');
  const status = response.status;
  if (status >= 300 && status < 400) {
    const location = String(response.headers.location ?? '(no Location)');
    throw fail('redirect', `HTTP ${status} redirect to ${location} (not followed)`);
  }
  if (status < 200 || status >= 300) {
    const reason = STATUS_REASONS[status] ?? (status >= 500 ? 'server' : 'bad_response');
    const text = upstreamMessage(scrubSecrets(body, secrets));
    throw fail(reason, `HTTP ${status}${text}`, retryAfterMs(response.headers['retry-after']));
  }
  if (status === 204 || body.trim() === '') throw fail('no_data', `empty response (HTTP ${status})`);
  if (/^\s*</.test(body)) throw fail('bad_response', 'HTML page instead of JSON');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw fail('bad_response', 'truncated or invalid JSON');
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const at = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw fail('bad_shape', `unexpected shape${at}: ${issue?.message}`);
  }
  return result.data;
}

function transportError(
  error: unknown,
  maxBytes: number,
  fail: (reason: CarbonErrorReason, detail: string) => CarbonError,
): CarbonError {
  const { code = '', message = '' } = error as { code?: string; message?: string };
  if (message.includes('maxContentLength'))
    return fail('too_large', `response larger than ${maxBytes} bytes`);
  const reason: CarbonErrorReason =
    code === 'ECONNABORTED' || code === 'ETIMEDOUT'
      ? 'timeout'
      : code === 'ECONNREFUSED'
        ? 'refused'
        : 'network';
  return fail(reason, code || 'request failed');
}

const STATUS_REASONS: Record<number, CarbonErrorReason> = {
  400: 'bad_request',
  401: 'auth',
  403: 'auth',
  404: 'not_found',
  429: 'rate_limited',
};

/** The upstream's own error text, from the shapes the providers use; at most 200 characters. */
function upstreamMessage(body: string): string {
  let message: unknown;
  try {
    const json = JSON.parse(body) as Record<string, unknown>;
    const error = json.error as Record<string, unknown> | string | undefined;
    message =
      (typeof error === 'object' && error !== null ? error.message : undefined) ??
      json.message ??
      json.msg ??
      json.detail ??
      json.title ??
      error;
  } catch {
    return /^\s*</.test(body) ? ' (HTML page)' : '';
  }
  return typeof message === 'string' ? `: ${message.slice(0, 200)}` : '';
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
function retryAfterMs(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
