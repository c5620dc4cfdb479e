// `dbferry backup`, `dbferry backups list|get|download` and `dbferry restore`.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { DbferryClient } from '../client.ts';
import type { BackupView } from '../api/backup/view.ts';
import { readCatalog } from '../activities/catalog/catalog.ts';
import { loadConfig } from '../config/load.ts';
import { createStore } from '../activities/storage/store.ts';
import { parse, parseRef, UsageError } from './args.ts';
import { createProgressPrinter, type ProgressView } from './progress.ts';
import { apiClient } from './user-commands.ts';
import { chainRestoreCommand, physicalBackupCommand } from './physical-commands.ts';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const exitCodeOf = (status: string) => (status === 'succeeded' ? 0 : status === 'cancelled' ? 130 : 1);

/** Polls until the run ends, printing progress; the exit code says how it ended. */
async function followRun(id: string, json: boolean, read: () => Promise<ProgressView>): Promise<number> {
  const printer = createProgressPrinter(process.stdout, json);
  for (;;) {
    const view = await read();
    printer.update(view);
    if (FINAL.has(view.status)) {
      printer.done(view);
      return exitCodeOf(view.status);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const backupProgress = (client: DbferryClient, id: string) => async (): Promise<ProgressView> => {
  const view = await client.backups.get.query({ id });
  return { ...view, lastError: view.error };
};

const formatOption = { type: 'string', default: 'mysqldump' } as const;
const compressionOption = { type: 'string', default: 'gzip' } as const;

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

export function wholeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,6}$/.test(value)) throw new UsageError(`${flag} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** `dbferry backup --from CONN/DB --target NAME`: an on-demand backup through the API. */
export async function backupCommand(args: string[]): Promise<number> {
  if (args.includes('--physical')) return physicalBackupCommand(args);
  const { values } = parse(args, {
    from: { type: 'string' },
    target: { type: 'string' },
    format: formatOption,
    compression: compressionOption,
    threads: { type: 'string', default: '4' },
    follow: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'callback-url': { type: 'string' },
    'idempotency-key': { type: 'string' },
  });
  if (!values.target) throw new UsageError('--target NAME is required (a target from the config file)');
  const client = apiClient();
  const started = await client.backups.trigger.mutate({
    source: parseRef(values.from, '--from'),
    target: values.target,
    format: oneOf(values.format, ['mysqldump', 'mydumper'] as const, '--format'),
    compression: oneOf(values.compression, ['gzip', 'zstd'] as const, '--compression'),
    threads: wholeNumber(values.threads, '--threads'),
    callbackUrl: values['callback-url'] ?? null,
    idempotencyKey: values['idempotency-key'],
  });
  if (values.json && !values.follow) process.stdout.write(`${JSON.stringify(started)}\n`);
  else if (!values.json) process.stdout.write(`backup ${started.id} ${started.status}\n`);
  return values.follow ? followRun(started.id, values.json, backupProgress(client, started.id)) : 0;
}

const size = (n: number | null) =>
  n === null
    ? '-'
    : n < 1024
      ? `${n} B`
      : n < 1024 ** 2
        ? `${(n / 1024).toFixed(1)} KiB`
        : n < 1024 ** 3
          ? `${(n / 1024 ** 2).toFixed(1)} MiB`
          : `${(n / 1024 ** 3).toFixed(2)} GiB`;

function printLog(items: Array<Pick<BackupView, 'id' | 'status' | 'startedAt' | 'source' | 'target' | 'size' | 'key' | 'error'>>): void {
  for (const b of items) {
    const line = [
      b.id,
      b.status.padEnd(9),
      b.startedAt ?? '-',
      `${b.source.connection}/${b.source.database}`,
      b.target,
      size(b.size),
      b.key ?? '-',
    ].join('  ');
    process.stdout.write(`${line}\n${b.error ? `    error: ${b.error}\n` : ''}`);
  }
  if (items.length === 0) process.stdout.write('no backups\n');
}

/** Physical pieces: id, kind, start, server, LSN range, parent and chain. */
function printPhysical(pieces: NonNullable<Awaited<ReturnType<typeof readCatalog>>['physical']>): void {
  for (const m of pieces) {
    process.stdout.write(
      `${[m.id, m.kind.padEnd(20), m.startedAt, m.source.connection, `lsn ${m.fromLsn}→${m.toLsn}`, size(m.size), `chain ${m.chainId}`, m.parentId ? `parent ${m.parentId}` : ''].join('  ').trimEnd()}\n`,
    );
  }
}

/**
 * `dbferry backups list --target NAME` reads the target's manifests straight from the bucket with
 * only the config file (no API, no control schema): the catalog rebuilt from storage alone.
 * Without --target it asks the API for the caller's backup log.
 */
async function listCommand(args: string[]): Promise<number> {
  const { values } = parse(args, {
    target: { type: 'string' },
    source: { type: 'string' },
    status: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    limit: { type: 'string', default: '50' },
    cursor: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const [connection, database] = values.source?.split('/', 2) ?? [];
  if (values.target) {
    const config = loadConfig();
    const target = Object.hasOwn(config.targets, values.target) ? config.targets[values.target] : undefined;
    if (!target)
      throw new UsageError(
        `--target: no target named "${values.target}" in the config file (configured: ${Object.keys(config.targets).join(', ') || 'none'})`,
      );
    const store = createStore(target);
    try {
      const catalog = await readCatalog(store);
      const manifests = catalog.manifests.filter(
        (m) => (!connection || m.source.connection === connection) && (!database || m.source.database === database),
      );
      const physical = (catalog.physical ?? []).filter((m) => !connection || m.source.connection === connection);
      if (values.json)
        process.stdout.write(
          `${JSON.stringify({ target: values.target, url: store.url, manifests, problems: catalog.problems, physical })}\n`,
        );
      else {
        printLog(manifests.map((m) => ({ ...m, status: 'succeeded', target: values.target!, error: null })));
        printPhysical(physical);
        for (const p of catalog.problems) process.stderr.write(`warning: ${p.key}: ${p.message}\n`);
      }
    } finally {
      store.close();
    }
    return 0;
  }
  const page = await apiClient().backups.list.query({
    source: connection ? { connection, database } : undefined,
    status: values.status as BackupView['status'] | undefined,
    from: values.from,
    to: values.to,
    limit: wholeNumber(values.limit, '--limit'),
    cursor: values.cursor,
  });
  if (values.json) process.stdout.write(`${JSON.stringify(page)}\n`);
  else {
    printLog(page.items);
    for (const p of page.problems) process.stderr.write(`warning: ${p.target}${p.key ? `/${p.key}` : ''}: ${p.message}\n`);
    if (page.nextCursor) process.stdout.write(`more: --cursor ${page.nextCursor}\n`);
  }
  return 0;
}

/** `dbferry backups download ID --output FILE`: through the presigned URL, or the API's own route. */
async function downloadCommand(id: string, output: string | undefined): Promise<number> {
  const link = await apiClient().backups.download.query({ id });
  const out = output ?? link.filename;
  const url = link.kind === 'presigned' ? link.url : new URL(link.url, process.env.DBFERRY_URL ?? 'http://127.0.0.1:8080').href;
  const res = await fetch(url, link.kind === 'api' ? { headers: { authorization: `Bearer ${process.env.DBFERRY_TOKEN}` } } : {});
  if (!res.ok || !res.body) throw new Error(`download failed: HTTP ${res.status}`);
  await pipeline(Readable.fromWeb(res.body as WebReadableStream), createWriteStream(out, { flags: 'wx', mode: 0o600 }));
  process.stdout.write(`${out} (${size(link.size)}, sha256 ${link.sha256})\n`);
  return 0;
}

export async function backupsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'list') return listCommand(rest);
  const { values, positionals } = parse(rest, { json: { type: 'boolean', default: false }, output: { type: 'string', short: 'o' } }, true);
  const id = positionals[0];
  if (sub === 'get' && id) {
    const view = await apiClient().backups.get.query({ id });
    if (values.json) process.stdout.write(`${JSON.stringify(view)}\n`);
    else printLog([view]);
    return 0;
  }
  if (sub === 'download' && id) return downloadCommand(id, values.output);
  throw new UsageError(
    'usage: dbferry backups list [--target NAME] [--source CONN[/DB]] [--status S] [--from ISO] [--to ISO] [--json]\n       dbferry backups get ID [--json]\n       dbferry backups download ID [--output FILE]',
  );
}

/** `dbferry restore BACKUP_ID --to CONN/DB [--force]`: restores a backup into a database that allows writes. */
export async function restoreCommand(args: string[]): Promise<number> {
  if (args.some((a) => a === '--chain' || a.startsWith('--chain=') || a === '--before')) return chainRestoreCommand(args);
  const { values, positionals } = parse(
    args,
    {
      to: { type: 'string' },
      force: { type: 'boolean', default: false },
      threads: { type: 'string', default: '4' },
      follow: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'callback-url': { type: 'string' },
    },
    true,
  );
  const backupId = positionals[0];
  if (!backupId) throw new UsageError('usage: dbferry restore BACKUP_ID --to CONN/DB [--force] [--threads N] [--follow] [--json]');
  const client = apiClient();
  const started = await client.restores.start.mutate({
    backupId,
    destination: parseRef(values.to, '--to'),
    recreateDestination: values.force,
    threads: wholeNumber(values.threads, '--threads'),
    callbackUrl: values['callback-url'] ?? null,
  });
  if (values.json && !values.follow) process.stdout.write(`${JSON.stringify(started)}\n`);
  else if (!values.json) process.stdout.write(`restore ${started.id} ${started.status}\n`);
  return values.follow ? followRun(started.id, values.json, () => client.restores.get.query({ id: started.id })) : 0;
}
