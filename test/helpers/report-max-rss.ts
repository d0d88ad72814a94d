/**
 * Preloaded into CLI children (`node --import tsx --import this`): at exit, writes the process's
 * peak resident set size to stderr as `max_rss_kb=N`, for tests that cap a command's memory.
 *
 * On Linux it is VmHWM, the peak of this process's own memory. `resourceUsage().maxRSS`
 * (getrusage) is not: exec carries the forked parent's peak into it, so a child of a test runner
 * that had loaded native TensorFlow reported 471 MB for a command that never loads it (measured: a
 * node child of a 500 MB parent, maxRSS 516 MB, VmHWM 40 MB).
 */
import { readFileSync, writeSync } from 'node:fs';

function peakKb(): number {
  try {
    const hwm = /^VmHWM:\s*(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]);
  } catch {}
  return process.resourceUsage().maxRSS;
}

process.on('exit', () => {
  writeSync(2, `\nmax_rss_kb=${peakKb()}\n`);
});
