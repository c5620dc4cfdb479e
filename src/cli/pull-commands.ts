// `dbferry pull`, `dbferry pulls` and `dbferry cleanup`: seed 002's backfill:pull, :status and :cleanup.
import { createInterface } from 'node:readline/promises';
import type { DbferryClient } from '../client.ts';
import type { PullView } from '../api/pull/service.ts';
import type { DryRunRow } from '../workflows/pull/contracts.ts';
import { isFinalStatus } from '../workflows/copy/contracts.ts';
import { parse, UsageError } from './args.ts';
import { apiClient } from './user-commands.ts';
import { createProgressPrinter } from './progress.ts';

const PULL_USAGE =
  'usage: dbferry pull PROFILE [--full] [--tables a,b] [--dry-run] [--follow] [--json] [--callback-url URL] [--idempotency-key KEY]';
const PULLS_USAGE = 'usage: dbferry pulls [list] [--limit N] [--json] | get ID [--json] | cancel ID';

/** A plain-text table with a header rule, like the seed's artisan output. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [rule, line(header), rule, ...rows.map(line), rule].join('\n');
}

const tick = (b: boolean): string => (b ? '✓' : '');
const count = (n: number): string => n.toLocaleString('en-US');

/** The seed's dry-run table. */
export function formatDryRun(rows: DryRunRow[]): string {
  return formatTable(
    ['Table', 'Rows', 'Mode', 'Sanitized', 'Limited', 'Timestamps', 'Excluded'],
    rows.map((r) => [
      r.table,
      r.excluded ? '-' : count(r.rows),
      r.mode,
      tick(r.sanitized),
      tick(r.limited),
      tick(r.timestamps),
      tick(r.excluded),
    ]),
  );
}

const duration = (s: number | null): string => (s === null ? '-' : s < 120 ? `${s}s` : `${Math.round(s / 60)}m`);

/** The seed's status table: ID, mode, status, rows, tables, duration, started. */
export function formatHistory(pulls: PullView[]): string {
  const table = formatTable(
    ['ID', 'Profile', 'Mode', 'Status', 'Rows', 'Tables', 'Duration', 'Started'],
    pulls.map((p) => [
      p.id,
      p.profile,
      (p.mode ?? (p.full ? 'full' : '-')).toUpperCase(),
      p.status,
      count(p.rows),
      `${p.tables.length} tables`,
      duration(p.durationSeconds),
      p.startedAt ?? '-',
    ]),
  );
  const last = pulls.find((p) => p.status === 'succeeded');
  return `${table}\n\n${last ? `Last successful pull: ${last.finishedAt} (${last.profile}); a delta pull brings rows created or updated since it started.` : 'No successful pull yet.'}`;
}

/** Follows the pull (a live bar on a terminal, a line per change otherwise); the exit code says how it ended. */
async function follow(client: DbferryClient, id: string, json: boolean): Promise<number> {
  const printer = createProgressPrinter(process.stdout, json);
  for (;;) {
    const view = await client.pulls.get.query({ id });
    printer.update(view);
    if (isFinalStatus(view.status)) {
      printer.done(view);
      if (!json && view.status === 'succeeded')
        process.stdout.write(`${count(view.rows)} rows in ${view.tables.length} tables (${view.mode})\n`);
      return view.status === 'succeeded' ? 0 : view.status === 'cancelled' ? 130 : 1;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function pullCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      full: { type: 'boolean', default: false },
      tables: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      follow: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'callback-url': { type: 'string' },
      'idempotency-key': { type: 'string' },
    },
    true,
  );
  const profile = positionals[0];
  if (!profile || positionals.length > 1) throw new UsageError(PULL_USAGE);
  const tables =
    values.tables === undefined
      ? null
      : values.tables
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean);
  if (tables && !tables.length) throw new UsageError('--tables needs at least one table name');
  const client = apiClient();
  if (values['dry-run']) {
    const rows = await client.pulls.dryRun.query({ profile, full: values.full, tables });
    process.stdout.write(
      values.json
        ? `${JSON.stringify(rows)}\n`
        : `Dry run: tables that would be pulled by "${profile}" (nothing was changed)\n${formatDryRun(rows)}\n`,
    );
    return 0;
  }
  const started = await client.pulls.start.mutate({
    profile,
    full: values.full,
    tables,
    callbackUrl: values['callback-url'] ?? null,
    idempotencyKey: values['idempotency-key'],
  });
  if (values.json && !values.follow) process.stdout.write(`${JSON.stringify(started)}\n`);
  else if (!values.json) process.stdout.write(`pull ${started.id} ${started.status}\n`);
  return values.follow ? follow(client, started.id, values.json) : 0;
}

export async function pullsCommand(args: string[]): Promise<number> {
  const [sub = 'list', ...rest] = args[0]?.startsWith('-') ? ['list', ...args] : args;
  const client = apiClient();
  if (sub === 'list') {
    const { values } = parse(rest, { json: { type: 'boolean', default: false }, limit: { type: 'string', default: '10' } });
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError('--limit must be a whole number from 1 to 100');
    const pulls = await client.pulls.list.query({ limit });
    process.stdout.write(values.json ? `${JSON.stringify(pulls)}\n` : `Pull history (last ${limit})\n${formatHistory(pulls)}\n`);
    return 0;
  }
  const { values, positionals } = parse(rest, { json: { type: 'boolean', default: false } }, true);
  const id = positionals[0];
  if (!id) throw new UsageError(PULLS_USAGE);
  if (sub === 'get') {
    const view = await client.pulls.get.query({ id });
    process.stdout.write(
      values.json ? `${JSON.stringify(view)}\n` : `${formatHistory([view])}\n${view.lastError ? `error: ${view.lastError}\n` : ''}`,
    );
    return 0;
  }
  if (sub === 'cancel') {
    const view = await client.pulls.cancel.mutate({ id });
    process.stdout.write(`${view.id} ${view.status} (cancellation requested)\n`);
    return 0;
  }
  throw new UsageError(PULLS_USAGE);
}

/** `dbferry cleanup [--max-age 60] [--force]`: drops old workspaces; asks first unless --force. */
export async function cleanupCommand(args: string[]): Promise<number> {
  const { values } = parse(args, {
    'max-age': { type: 'string', default: '60' },
    force: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  const maxAgeMinutes = Number(values['max-age']);
  if (!Number.isInteger(maxAgeMinutes) || maxAgeMinutes < 1)
    throw new UsageError('--max-age must be a whole number of minutes (at least 1)');
  const client = apiClient();
  const found = await client.pulls.cleanup.mutate({ maxAgeMinutes, dryRun: true });
  if (!found.length) {
    process.stdout.write(values.json ? '[]\n' : `No pull workspaces older than ${maxAgeMinutes} minutes.\n`);
    return 0;
  }
  if (!values.json)
    for (const w of found)
      process.stdout.write(
        `${w.connection}: ${w.inDatabase ? `${w.inDatabase}.${w.workspace}_* tables` : w.workspace} (${w.ageMinutes} min old)\n`,
      );
  if (!values.force) {
    if (!process.stdin.isTTY) {
      process.stdout.write(values.json ? `${JSON.stringify(found)}\n` : 'Nothing dropped: pass --force to drop these without asking.\n');
      return 0;
    }
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question(`Drop these ${found.length} workspace(s)? [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) return 0;
  }
  const dropped = await client.pulls.cleanup.mutate({ maxAgeMinutes, dryRun: false });
  process.stdout.write(values.json ? `${JSON.stringify(dropped)}\n` : `Dropped ${dropped.length} workspace(s).\n`);
  return 0;
}
