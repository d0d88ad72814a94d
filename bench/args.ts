/**
 * The flags of a bench script: node:util's parseArgs, strict (an unknown flag, a missing value or a
 * stray argument prints what was wrong and the usage, exit 2), with `--help`/`-h` (the usage, exit 0)
 * — checked before the script loads a model or starts a daemon.
 */
import { parseArgs } from 'node:util';

type Flag = { type: 'string'; default?: string } | { type: 'boolean'; default?: boolean };
export type Flags = Record<string, string | boolean | undefined>;

export function benchArgs(usage: string, options: Record<string, Flag> = {}): Flags {
  try {
    const { values } = parseArgs({
      options: { ...options, help: { type: 'boolean', short: 'h', default: false } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    return values;
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}
