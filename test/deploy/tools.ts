// The external tools the deploy tests run (systemd-analyze, promtool, kubectl): found on PATH, or
// the test is skipped with the reason printed, as .ci/run installs them only where apt works.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** Skips the current test or hook, saying why, when `command` is not installed. */
export function requireTool(ctx: Mocha.Context, command: string, debianPackage: string): void {
  if (findOnPath(command)) return;
  console.log(`      skipped: \`${command}\` not found on PATH (Debian package \`${debianPackage}\`)`);
  ctx.skip();
}

/** Runs a tool and returns its status and output; never throws on a non-zero exit. */
export function run(command: string, args: string[], cwd?: string) {
  const r = spawnSync(command, args, { encoding: 'utf8', ...(cwd ? { cwd } : {}) });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr };
}
