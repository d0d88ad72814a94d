import { type SpawnOptions, spawn } from 'node:child_process';

export interface Collected {
  /** The exit code; null when a signal ended the process. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `cmd argv…` to its end and gives back its exit code and everything it wrote. */
export function spawnCollect(
  cmd: string,
  argv: readonly string[],
  options: SpawnOptions = {},
): Promise<Collected> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, options);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
