/** Test helpers: run a job in-process or as `greentrainer train --json` in a child (kill -9 tests). */
import { spawn } from 'node:child_process';
import { SafetensorsReader } from '../../src/models/safetensors.js';
import { readJob } from '../../src/train/job.js';
import { TrainingRun } from '../../src/train/run.js';
import type { RunEvent, RunReport, StepEvent } from '../../src/train/run-events.js';
import { testBackend } from './backend.js';

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;

export function open(jobFile: string, resume = false) {
  const events: RunEvent[] = [];
  const run = TrainingRun.open(readJob(jobFile), {
    resume,
    evaluate: false,
    backend: testBackend(),
    emit: (e) => events.push(e),
  });
  return { run, events, steps: () => events.filter((e): e is StepEvent => e.type === 'step') };
}

/** Runs a job in-process with its evaluation: the report and every event. */
export async function evaluated(jobFile: string): Promise<{ report: RunReport; events: RunEvent[] }> {
  const events: RunEvent[] = [];
  const run = TrainingRun.open(readJob(jobFile), { backend: testBackend(), emit: (e) => events.push(e) });
  return { report: await run.run(), events };
}

/** Runs `greentrainer train --json` in a child; kills it with SIGKILL once `killWhen` holds. */
export function trainChild(args: string[], killWhen?: (e: RunEvent) => boolean): Promise<RunEvent[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'train', '--json', '--no-eval', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GREENTRAINER_BACKEND: testBackend() },
    });
    const events: RunEvent[] = [];
    let buffer = '';
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    child.stdout.on('data', (d) => {
      buffer += String(d);
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line) as RunEvent;
        events.push(e);
        if (killWhen?.(e)) child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      if (code === 0 || signal === 'SIGKILL') resolve(events);
      else reject(new Error(`train exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

export function readAll(file: string): Map<string, Float32Array> {
  const r = SafetensorsReader.open(file);
  const out = new Map([...r.entries.keys()].map((n) => [n, r.read(n)] as const));
  r.close();
  return out;
}

export const losses = (events: RunEvent[]) =>
  events.filter((e): e is StepEvent => e.type === 'step').map((e) => [e.step, e.loss] as const);
