// `dbferry backup --physical [--incremental]` and `dbferry restore --chain ID --to folder:PATH | CONN/DB`.
import { isAbsolute } from 'node:path';
import type { DbferryClient } from '../client.ts';
import { parse, parseRef, UsageError } from './args.ts';
import { createProgressPrinter, type ProgressView } from './progress.ts';
import { apiClient } from './user-commands.ts';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const exitCodeOf = (status: string) => (status === 'succeeded' ? 0 : status === 'cancelled' ? 130 : 1);

async function follow(json: boolean, read: () => Promise<ProgressView>): Promise<number> {
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

function count(value: string, flag: string): number {
  if (!/^\d{1,3}$/.test(value)) throw new UsageError(`${flag} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

function compression(value: string): 'gzip' | 'zstd' {
  if (value !== 'gzip' && value !== 'zstd') throw new UsageError(`--compression must be gzip or zstd, got ${JSON.stringify(value)}`);
  return value;
}

/** `dbferry backup --physical --from CONN --target NAME [--incremental [--parent ID]]`: a whole server, with mariabackup. */
export async function physicalBackupCommand(args: string[], client: DbferryClient = apiClient()): Promise<number> {
  const { values } = parse(args, {
    physical: { type: 'boolean', default: true },
    incremental: { type: 'boolean', default: false },
    from: { type: 'string' },
    target: { type: 'string' },
    parent: { type: 'string' },
    compression: { type: 'string', default: 'zstd' },
    threads: { type: 'string', default: '4' },
    follow: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'callback-url': { type: 'string' },
    'idempotency-key': { type: 'string' },
  });
  // A physical backup is of a server: `--from CONN` (a trailing /DB is refused rather than ignored).
  if (!values.from || values.from.includes('/'))
    throw new UsageError('--from CONNECTION is required for --physical (a physical backup holds every database of the server)');
  if (!values.target) throw new UsageError('--target NAME is required (a target from the config file)');
  if (values.parent && !values.incremental) throw new UsageError('--parent needs --incremental');
  const started = await client.backups.trigger.mutate({
    kind: values.incremental ? 'physical-incremental' : 'physical-full',
    connection: values.from,
    target: values.target,
    compression: compression(values.compression),
    threads: count(values.threads, '--threads'),
    ...(values.parent ? { parentId: values.parent } : {}),
    callbackUrl: values['callback-url'] ?? null,
    idempotencyKey: values['idempotency-key'],
  });
  if (values.json && !values.follow) process.stdout.write(`${JSON.stringify(started)}\n`);
  else if (!values.json) process.stdout.write(`physical backup ${started.id} ${started.status}\n`);
  return values.follow ? follow(values.json, () => client.backups.getPhysical.query({ id: started.id })) : 0;
}

/** `--to folder:/abs/path` or `--to CONN/DB`. */
export function parseChainDestination(to: string | undefined, database: string | undefined, force: boolean) {
  if (to?.startsWith('folder:')) {
    const folder = to.slice('folder:'.length);
    if (!isAbsolute(folder)) throw new UsageError(`--to folder:PATH needs an absolute path, got ${JSON.stringify(folder)}`);
    return { folder };
  }
  const destination = parseRef(to, '--to');
  return { database: database ?? destination.database, destination, recreateDestination: force };
}

/**
 * `dbferry restore --chain ID --target NAME --to folder:PATH | CONN/DB [--database SRC] [--force]`, or
 * `--before ISO --from CONN` for the newest piece before a time.
 */
export async function chainRestoreCommand(args: string[], client: DbferryClient = apiClient()): Promise<number> {
  const { values } = parse(args, {
    chain: { type: 'string' },
    before: { type: 'string' },
    from: { type: 'string' },
    target: { type: 'string' },
    to: { type: 'string' },
    database: { type: 'string' },
    force: { type: 'boolean', default: false },
    threads: { type: 'string', default: '4' },
    follow: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'callback-url': { type: 'string' },
  });
  const usage =
    'usage: dbferry restore --chain ID|latest --target NAME --to folder:PATH|CONN/DB [--database SRC] [--before ISO --from CONN] [--force] [--follow] [--json]';
  if (!values.target || !values.to) throw new UsageError(usage);
  const chain =
    values.chain && values.chain !== 'latest'
      ? { backupId: values.chain }
      : values.from
        ? { connection: values.from, before: values.before ?? new Date().toISOString() }
        : null;
  if (!chain) throw new UsageError(`--chain ID, or --from CONN with --chain latest or --before ISO, is required\n${usage}`);
  const started = await client.restores.start.mutate({
    chain,
    target: values.target,
    to: parseChainDestination(values.to, values.database, values.force),
    threads: count(values.threads, '--threads'),
    callbackUrl: values['callback-url'] ?? null,
  });
  if (values.json && !values.follow) process.stdout.write(`${JSON.stringify(started)}\n`);
  else if (!values.json) process.stdout.write(`chain restore ${started.id} ${started.status}\n`);
  return values.follow ? follow(values.json, () => client.restores.get.query({ id: started.id })) : 0;
}
