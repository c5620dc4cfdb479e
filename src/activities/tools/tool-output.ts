// What a tool says: its output followed line by line (progress for the caller, the last lines for
// an error message), and its exit turned into a Temporal failure, permanent or worth a retry.
import type { Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/activity';

/** Sees each output line as it comes; returning false leaves it out of the tail kept for errors (progress lines). */
export type LineHandler = (line: string) => boolean | void;

const TAIL_LINES = 30;

/**
 * Splits the output of one or more streams into lines as it arrives, hands each to `onLine`, and
 * keeps the last 30 for error messages; `finish()` adds the last lines that had no newline.
 */
export function followLines(streams: Readable | null | undefined | Array<Readable | null | undefined>, onLine?: LineHandler) {
  const tail: string[] = [];
  const keep = (line: string): void => {
    if (!line.trim()) return;
    if (onLine?.(line) === false) return;
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  const pending = new Map<Readable, string>();
  for (const stream of [streams].flat()) {
    if (!stream) continue;
    pending.set(stream, '');
    stream.on('data', (chunk: Buffer) => {
      const lines = (pending.get(stream)! + chunk.toString('utf8')).split('\n');
      pending.set(stream, lines.pop() ?? '');
      lines.forEach(keep);
    });
  }
  return {
    tail,
    finish(): string[] {
      for (const [stream, rest] of pending) {
        keep(rest);
        pending.set(stream, '');
      }
      return tail;
    },
  };
}

// Failures that no retry can fix: wrong credentials, a missing database, missing privileges.
const PERMANENT = [
  { pattern: /Access denied/i, type: 'AuthenticationFailed' },
  { pattern: /Unknown database/i, type: 'DatabaseNotFound' },
  { pattern: /command denied|privilege/i, type: 'PermissionDenied' },
  { pattern: /ENOENT|not found/i, type: 'ToolMissing' },
];

/**
 * Turns a tool's exit into a Temporal failure: permanent ones are non-retryable, the rest retried.
 * The message carries the tool's own words; `cause` (the bare exit) is left out, so a run's error
 * names what the tool said rather than "exited with 2".
 */
export function toolFailure(
  command: string,
  tail: string[],
  cause: Error & { exitCode?: number | string; code?: string },
): ApplicationFailure {
  const important = tail.filter((l) => /CRITICAL|ERROR|error|denied|Unknown/i.test(l)).slice(-5);
  const detail = (important.length ? important : tail.slice(-5)).join(' | ').slice(0, 2000);
  const exit = cause.exitCode ?? cause.code ?? 'unknown';
  const message = `${command} failed (exit ${exit}): ${detail || cause.message}`;
  const permanent = PERMANENT.find((p) => p.pattern.test(detail) || (cause.code === 'ENOENT' && p.type === 'ToolMissing'));
  return permanent ? ApplicationFailure.nonRetryable(message, permanent.type) : ApplicationFailure.retryable(message, 'ToolFailed');
}
