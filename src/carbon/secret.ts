/**
 * API keys and passwords. A `Secret` never shows its value by accident: `String()`, JSON and
 * `util.inspect` print `[redacted]`; only `reveal()` returns it, and only HTTP clients call that.
 * Secrets come from an environment variable or a file (systemd `LoadCredential=` puts them in
 * `$CREDENTIALS_DIRECTORY/<name>`), never from the config file itself.
 */
import { statSync } from 'node:fs';
import { inspect } from 'node:util';
import { readTextFile } from '../config/text-file.js';
import { CarbonError } from './errors.js';

const REDACTED = '[redacted]';

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/** Where a secret comes from: the name of an environment variable, or a file. */
export interface SecretSource {
  readonly env?: string | undefined;
  readonly file?: string | undefined;
}

/**
 * Reads a secret; `what` names it in errors ("electricitymaps token"). The file wins over the
 * variable; surrounding whitespace (a trailing newline) is dropped.
 */
export function resolveSecret(
  provider: string,
  what: string,
  source: SecretSource,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void = () => {},
): Secret {
  let value: string | undefined;
  if (source.file !== undefined) {
    const loose = looseMode(source.file);
    if (loose !== undefined) warn(loose);
    try {
      value = readTextFile(source.file, 'config').trim();
    } catch (cause) {
      throw new CarbonError(provider, 'config', `the ${what} file: ${(cause as Error).message}`);
    }
  } else if (source.env !== undefined) {
    value = env[source.env]?.trim();
    if (value === undefined) throw new CarbonError(provider, 'config', `${what}: ${source.env} is not set`);
  }
  if (value === undefined || value === '')
    throw new CarbonError(provider, 'config', `${what} is empty or not configured`);
  return new Secret(value);
}

/** Files already warned about: a reload reads the same file again and says nothing new. */
const warned = new Set<string>();

/** A warning, once per file, when others than its owner may read it (`chmod 600` fixes it). */
function looseMode(file: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    return undefined; // reading it fails next, with its reason
  }
  if ((mode & 0o077) === 0 || warned.has(file)) return undefined;
  warned.add(file);
  const octal = (mode & 0o777).toString(8).padStart(3, '0');
  return `${file} is readable by ${mode & 0o007 ? 'every user' : 'its group'} (mode ${octal}): chmod 600 ${file}`;
}
