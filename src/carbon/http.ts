/**
 * The HTTP client every provider shares: one axios instance per provider, and one function that
 * turns a response into validated data or a `CarbonError` with a reason. Bodies are read as text so
 * that HTML error pages and truncated JSON are reported as such rather than as parser crashes.
 */
import axios, { type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import type { z } from 'zod';
import { CarbonError, type CarbonErrorReason } from './errors.js';

/** The UK API can take seconds; beyond this a poll is better retried than waited for. */
export const DEFAULT_TIMEOUT_MS = 10_000;

export function createHttp(baseUrl: string, timeoutMs: number): AxiosInstance {
  return axios.create({
    baseURL: baseUrl,
    timeout: timeoutMs,
    headers: { Accept: 'application/json' },
    responseType: 'text',
    transformResponse: (body: unknown) => body,
    validateStatus: () => true,
    maxRedirects: 0,
    proxy: false,
  });
}

/** Performs a GET and returns the body validated by `schema`. */
export async function getJson<S extends z.ZodType>(
  http: AxiosInstance,
  provider: string,
  path: string,
  schema: S,
  config: AxiosRequestConfig = {},
): Promise<z.infer<S>> {
  const where = `GET ${path}`;
  let response: AxiosResponse<unknown>;
  try {
    response = await http.get(path, config);
  } catch (error) {
    throw transportError(provider, where, error);
  }
  const body = typeof response.data === 'string' ? response.data : String(response.data ?? '');
  if (response.status < 200 || response.status >= 300) {
    throw statusError(provider, where, response.status, body, response.headers['retry-after']);
  }
  if (response.status === 204 || body.trim() === '')
    throw new CarbonError(provider, 'no_data', `${where}: empty response (HTTP ${response.status})`);
  const parsed = parseBody(provider, where, body);
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const at = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new CarbonError(provider, 'bad_response', `${where}: unexpected shape${at}: ${issue?.message}`);
  }
  return result.data;
}

function parseBody(provider: string, where: string, body: string): unknown {
  if (/^\s*</.test(body))
    throw new CarbonError(provider, 'bad_response', `${where}: HTML page instead of JSON`);
  try {
    return JSON.parse(body);
  } catch {
    throw new CarbonError(provider, 'bad_response', `${where}: truncated or invalid JSON`);
  }
}

function transportError(provider: string, where: string, error: unknown): CarbonError {
  const code = (error as { code?: string }).code ?? '';
  const reason: CarbonErrorReason =
    code === 'ECONNABORTED' || code === 'ETIMEDOUT'
      ? 'timeout'
      : code === 'ECONNREFUSED'
        ? 'refused'
        : 'network';
  return new CarbonError(provider, reason, `${where}: ${code || 'request failed'}`);
}

const STATUS_REASONS: Record<number, CarbonErrorReason> = {
  400: 'bad_request',
  401: 'auth',
  403: 'auth',
  404: 'not_found',
  429: 'rate_limited',
};

function statusError(
  provider: string,
  where: string,
  status: number,
  body: string,
  retryAfter: unknown,
): CarbonError {
  const reason = STATUS_REASONS[status] ?? (status >= 500 ? 'server' : 'bad_response');
  const detail = `${where}: HTTP ${status}${upstreamMessage(body)}`;
  return new CarbonError(provider, reason, detail, retryAfterMs(retryAfter));
}

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
