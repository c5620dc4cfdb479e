// The CLI's copy, status and cancel commands, and how API errors are printed.
import { TRPCClientError } from '@trpc/client';
import { createDbferryClient, type DbferryClient } from '../client.ts';
import { isFinalStatus } from '../workflows/copy/contracts.ts';
import type { CopyView } from '../api/copy/service.ts';
import { parse, parseRef, UsageError } from './args.ts';
import { createProgressPrinter } from './progress.ts';

/** The API the CLI talks to: DBFERRY_URL and DBFERRY_TOKEN. */
export function apiClient(): DbferryClient {
  const token = process.env.DBFERRY_TOKEN;
  if (!token) throw new UsageError('DBFERRY_TOKEN is not set: create one with `dbferry token create --user NAME`');
  return createDbferryClient({ url: process.env.DBFERRY_URL ?? 'http://127.0.0.1:8080', token });
}

/** Polls until the copy ends, printing progress; the exit code says how it ended. */
async function follow(client: DbferryClient, id: string, json: boolean): Promise<number> {
  const printer = createProgressPrinter(process.stdout, json);
  for (;;) {
    const view: CopyView = await client.copies.get.query({ id });
    printer.update(view);
    if (isFinalStatus(view.status)) {
      printer.done(view);
      return view.status === 'succeeded' ? 0 : view.status === 'cancelled' ? 130 : 1;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function copyCommand(args: string[]): Promise<number> {
  const { values } = parse(args, {
    from: { type: 'string' },
    to: { type: 'string' },
    threads: { type: 'string', default: '4' },
    recreate: { type: 'boolean', default: false },
    follow: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'callback-url': { type: 'string' },
    'idempotency-key': { type: 'string' },
  });
  const threads = Number(values.threads);
  if (!Number.isInteger(threads)) throw new UsageError('--threads must be a whole number');
  const client = apiClient();
  const started = await client.copies.start.mutate({
    source: parseRef(values.from, '--from'),
    destination: parseRef(values.to, '--to'),
    threads,
    recreateDestination: values.recreate,
    callbackUrl: values['callback-url'] ?? null,
    idempotencyKey: values['idempotency-key'],
  });
  if (values.json && !values.follow) process.stdout.write(`${JSON.stringify(started)}\n`);
  else if (!values.json) process.stdout.write(`copy ${started.id} ${started.status}\n`);
  return values.follow ? follow(client, started.id, values.json) : 0;
}

export async function statusCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { json: { type: 'boolean', default: false }, follow: { type: 'boolean', default: false } },
    true,
  );
  const id = positionals[0];
  if (!id) throw new UsageError('usage: dbferry status ID [--follow] [--json]');
  const client = apiClient();
  if (values.follow) return follow(client, id, values.json);
  const view = await client.copies.get.query({ id });
  if (values.json) process.stdout.write(`${JSON.stringify(view)}\n`);
  else {
    process.stdout.write(`${view.id} ${view.status} ${view.phase} ${view.progress}%\n`);
    process.stdout.write(`  ${view.sourceConnection}/${view.sourceDb} -> ${view.destConnection}/${view.destDb}\n`);
    process.stdout.write(`  started ${view.startedAt ?? '-'}  finished ${view.finishedAt ?? '-'}\n`);
    if (view.lastError) process.stdout.write(`  error: ${view.lastError}\n`);
    for (const t of view.tables) process.stdout.write(`  ${t.table}: ${t.destinationRows}/${t.sourceRows} rows\n`);
  }
  return 0;
}

export async function cancelCommand(args: string[]): Promise<number> {
  const { positionals } = parse(args, {}, true);
  if (!positionals[0]) throw new UsageError('usage: dbferry cancel ID');
  const view = await apiClient().copies.cancel.mutate({ id: positionals[0] });
  process.stdout.write(`${view.id} ${view.status} (cancellation requested)\n`);
  return 0;
}

/** API errors come back as TRPCClientError: show their message, not a stack. */
export function describeCliError(error: unknown): string {
  if (error instanceof TRPCClientError) return error.message;
  return (error as Error).message ?? String(error);
}
