/**
 * Preloaded into CLI children (`node --import tsx --import this`): at exit, writes the process's
 * peak resident set size to stderr as `max_rss_kb=N`, for tests that cap a command's memory.
 */
import { writeSync } from 'node:fs';

process.on('exit', () => {
  writeSync(2, `\nmax_rss_kb=${process.resourceUsage().maxRSS}\n`);
});
