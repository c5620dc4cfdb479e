// Reads running processes' command lines from /proc, for tests of what `ps` shows (no password, no tool left behind).
import { readdir, readFile } from 'node:fs/promises';

/** Command lines of running processes whose name matches, read from /proc (what `ps` shows). */
export async function processCommandLines(match: RegExp): Promise<string[]> {
  const lines: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (match.test(cmdline)) lines.push(cmdline.replace(/\0/g, ' ').trim());
  }
  return lines;
}
