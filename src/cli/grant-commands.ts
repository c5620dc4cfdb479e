// The CLI's pull-grant commands, through the API with an admin's token: `dbferry grant …` (create
// prints the token once) and `dbferry transfers list|approve|deny`. A download password is read from
// an environment variable, never from the command line (where `ps` and shell history would keep it).
import { parse, UsageError } from './args.ts';
import { apiClient } from './user-commands.ts';
import { parseDuration } from './access-commands.ts';
import type { GrantView } from '../control/grants.ts';
import type { TransferView } from '../control/transfers.ts';
import { APPROVAL_MODES, GRANT_STATUSES, type ApprovalMode, type GrantStatus } from '../control/grant-rules.ts';
import { TRANSFER_DIRECTIONS, TRANSFER_STATUSES, type TransferDirection, type TransferStatus } from '../control/transfers.ts';

const GRANT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

const table = (rows: string[][]): string => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return `${rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
};

const checkName = (name: string | undefined, usage: string): string => {
  if (!name || !GRANT_NAME.test(name)) throw new UsageError(`${usage}\nNAME: letters, digits, _ . -; at most 64`);
  return name;
};

const listOf = (text: string | undefined): string[] | undefined =>
  text === undefined
    ? undefined
    : text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

function count(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number of at least 1, got ${JSON.stringify(text)}`);
  return n;
}

function oneOf<T extends string>(text: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}`);
  return text as T;
}

/** `--hours 22:00-06:00 [--timezone Europe/Berlin]` → allowedHours (the API checks the times and the zone). */
function hoursOf(text: string | undefined, timezone: string | undefined) {
  if (text === undefined) {
    if (timezone !== undefined) throw new UsageError('--timezone goes with --hours START-END');
    return undefined;
  }
  if (text === 'any') return null;
  const match = /^(\d{1,2}:\d{2})-(\d{1,2}:\d{2})$/.exec(text);
  if (!match) throw new UsageError(`--hours must be START-END such as 22:00-06:00 (or "any"), got ${JSON.stringify(text)}`);
  return { start: match[1]!.padStart(5, '0'), end: match[2]!.padStart(5, '0'), timezone: timezone ?? 'UTC' };
}

/** The download password from the variable --password-env names ("" clears it on update). */
function passwordFrom(variable: string | undefined): string | null | undefined {
  if (variable === undefined) return undefined;
  const value = process.env[variable];
  if (value === undefined) throw new UsageError(`--password-env ${variable}: that environment variable is not set`);
  return value === '' ? null : value;
}

/** The options create and update share. */
const SETTING_OPTIONS = {
  'site-url': { type: 'string' },
  approval: { type: 'string' },
  'auto-approve-tables': { type: 'string' },
  'allowed-tables': { type: 'string' },
  'excluded-tables': { type: 'string' },
  'max-downloads': { type: 'string' },
  'max-records': { type: 'string' },
  'max-records-per-request': { type: 'string' },
  'rate-limit': { type: 'string' },
  'password-env': { type: 'string' },
  ip: { type: 'string' },
  hours: { type: 'string' },
  timezone: { type: 'string' },
  'expires-in': { type: 'string' },
  'expires-at': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

type SettingValues = { [K in keyof typeof SETTING_OPTIONS]?: (typeof SETTING_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

function settingsOf(values: SettingValues) {
  if (values['expires-in'] !== undefined && values['expires-at'] !== undefined)
    throw new UsageError('give --expires-in or --expires-at, not both');
  const expiresAt =
    values['expires-in'] !== undefined
      ? new Date(Date.now() + parseDuration(values['expires-in'], '--expires-in')).toISOString()
      : values['expires-at'] === 'never'
        ? null
        : values['expires-at'];
  const settings = {
    siteUrl: values['site-url'],
    approvalMode: oneOf<ApprovalMode>(values.approval, APPROVAL_MODES, '--approval'),
    autoApproveTables: listOf(values['auto-approve-tables']),
    allowedTables: listOf(values['allowed-tables']),
    excludedTables: listOf(values['excluded-tables']),
    maxDownloads: values['max-downloads'] === 'none' ? null : count(values['max-downloads'], '--max-downloads'),
    maxRecordsTotal: values['max-records'] === 'none' ? null : count(values['max-records'], '--max-records'),
    maxRecordsPerRequest: count(values['max-records-per-request'], '--max-records-per-request'),
    rateLimitPerMinute: count(values['rate-limit'], '--rate-limit'),
    downloadPassword: passwordFrom(values['password-env']),
    ipAllowlist: listOf(values.ip),
    allowedHours: hoursOf(values.hours, values.timezone),
    expiresAt,
  };
  // Only what was given: the API keeps (update) or defaults (create) the rest.
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as {
    [K in keyof typeof settings]?: Exclude<(typeof settings)[K], undefined>;
  };
}

const orDash = (v: unknown): string => (v === null || v === undefined || v === '' ? '-' : String(v));
const limitOf = (used: number, max: number | null): string => (max === null ? `${used}` : `${used}/${max}`);

function describeGrant(g: GrantView): string {
  const hours = g.allowedHours ? `${g.allowedHours.start}-${g.allowedHours.end} ${g.allowedHours.timezone}` : 'any';
  const rows: Array<[string, string]> = [
    ['name', g.name],
    ['status', g.status],
    ['profile', g.profile],
    ['site', g.siteUrl],
    ['approval', g.approvalMode + (g.approvalMode === 'per_table' ? ` (auto: ${g.autoApproveTables.join(',') || '-'})` : '')],
    ['tables', `allowed ${g.allowedTables.join(',') || '(all)'}; excluded ${g.excludedTables.join(',') || '-'}`],
    ['downloads', limitOf(g.downloadsUsed, g.maxDownloads)],
    ['records', limitOf(g.recordsUsed, g.maxRecordsTotal)],
    ['per request', String(g.maxRecordsPerRequest)],
    ['rate limit', `${g.rateLimitPerMinute}/min`],
    ['password', g.hasDownloadPassword ? 'required' : 'none'],
    ['ip allow-list', g.ipAllowlist.join(', ') || '(any)'],
    ['hours', hours],
    ['expires', orDash(g.expiresAt)],
    ['created', `${g.createdAt} by ${g.createdBy}`],
  ];
  if (g.approvedAt) rows.push(['approved', `${g.approvedAt} by ${g.approvedBy}`]);
  if (g.suspendedAt) rows.push(['suspended', `${g.suspendedAt} by ${g.suspendedBy}: ${orDash(g.suspendedReason)}`]);
  if (g.reactivatedAt) rows.push(['reactivated', `${g.reactivatedAt} by ${g.reactivatedBy}`]);
  if (g.revokedAt) rows.push(['revoked', `${g.revokedAt} by ${g.revokedBy}: ${orDash(g.revokedReason)}`]);
  if (g.expiredAt) rows.push(['expired', `${g.expiredAt}: ${orDash(g.expiredReason)}`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}

const GRANT_USAGE = `usage: dbferry grant create NAME --site-url URL --profile PROFILE [--approval auto_approve|require_approval|per_table]
         [--auto-approve-tables a,b] [--allowed-tables a,b] [--excluded-tables a,b] [--max-downloads N] [--max-records N]
         [--max-records-per-request N] [--rate-limit N] [--password-env VAR] [--ip 10.0.0.0/8,2001:db8::1]
         [--hours 22:00-06:00 [--timezone Europe/Berlin]] [--expires-in 30d | --expires-at ISO] [--json]
       dbferry grant update NAME [the options of create but --profile; none, any or never clear a limit, the hours, the expiry;
         an empty --password-env variable clears the password]
       dbferry grant list [--status S] [--json] | get NAME [--json] | approve NAME | suspend NAME --reason R
       dbferry grant reactivate NAME | revoke NAME --reason R | regenerate-token NAME | delete NAME   (admin token)`;

/** `dbferry grant create|update|list|get|approve|suspend|reactivate|revoke|regenerate-token|delete`, as an admin. */
export async function grantCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const client = () => apiClient();
  const print = (json: boolean, grant: GrantView) => process.stdout.write(json ? `${JSON.stringify(grant)}\n` : describeGrant(grant));
  if (sub === 'create') {
    const { values, positionals } = parse(rest, { ...SETTING_OPTIONS, profile: { type: 'string' } }, true);
    const name = checkName(positionals[0], GRANT_USAGE);
    if (!values['site-url'] || !values.profile) throw new UsageError(`--site-url and --profile are required\n${GRANT_USAGE}`);
    const { siteUrl, ...settings } = settingsOf(values);
    const created = await client().grants.create.mutate({ name, siteUrl: siteUrl!, profile: values.profile, ...settings });
    if (values.json) process.stdout.write(`${JSON.stringify(created)}\n`);
    else
      process.stdout.write(
        `Created grant ${created.grant.name} (${created.grant.status}) serving profile ${created.grant.profile}; approve it with \`dbferry grant approve ${name}\`.\nIts token is shown only once; hand it to the receiving site:\n${created.token}\n`,
      );
    return 0;
  }
  if (sub === 'update') {
    const { values, positionals } = parse(rest, SETTING_OPTIONS, true);
    const name = checkName(positionals[0], GRANT_USAGE);
    const settings = settingsOf(values);
    if (!Object.keys(settings).length) throw new UsageError(`nothing to change\n${GRANT_USAGE}`);
    print(values.json, await client().grants.update.mutate({ name, ...settings }));
    return 0;
  }
  if (sub === 'list') {
    const { values } = parse(rest, { status: { type: 'string' }, json: { type: 'boolean', default: false } });
    const status = oneOf<GrantStatus>(values.status, GRANT_STATUSES, '--status');
    const list = await client().grants.list.query(status ? { status } : {});
    if (values.json) process.stdout.write(`${JSON.stringify(list)}\n`);
    else if (!list.length) process.stdout.write('(no grants)\n');
    else
      process.stdout.write(
        table([
          ['NAME', 'STATUS', 'PROFILE', 'APPROVAL', 'DOWNLOADS', 'RECORDS', 'EXPIRES', 'SITE'],
          ...list.map((g) => [
            g.name,
            g.status,
            g.profile,
            g.approvalMode,
            limitOf(g.downloadsUsed, g.maxDownloads),
            limitOf(g.recordsUsed, g.maxRecordsTotal),
            orDash(g.expiresAt),
            g.siteUrl,
          ]),
        ]),
      );
    return 0;
  }
  if (sub === 'get') {
    const { values, positionals } = parse(rest, { json: { type: 'boolean', default: false } }, true);
    print(values.json, await client().grants.get.query({ name: checkName(positionals[0], GRANT_USAGE) }));
    return 0;
  }
  if (sub === 'approve' || sub === 'reactivate' || sub === 'suspend' || sub === 'revoke') {
    const { values, positionals } = parse(rest, { reason: { type: 'string' }, json: { type: 'boolean', default: false } }, true);
    const name = checkName(positionals[0], GRANT_USAGE);
    const reason = values.reason?.trim();
    let grant: GrantView;
    if (sub === 'suspend' || sub === 'revoke') {
      if (!reason) throw new UsageError(`dbferry grant ${sub} NAME --reason R: give a reason`);
      grant = await client().grants[sub].mutate({ name, reason });
    } else {
      grant = await client().grants[sub].mutate({ name, ...(reason ? { reason } : {}) });
    }
    if (values.json) process.stdout.write(`${JSON.stringify(grant)}\n`);
    else process.stdout.write(`Grant ${grant.name} is ${grant.status}\n`);
    return 0;
  }
  if (sub === 'regenerate-token') {
    const { values, positionals } = parse(rest, { json: { type: 'boolean', default: false } }, true);
    const regenerated = await client().grants.regenerateToken.mutate({ name: checkName(positionals[0], GRANT_USAGE) });
    if (values.json) process.stdout.write(`${JSON.stringify(regenerated)}\n`);
    else
      process.stdout.write(
        `New token for grant ${regenerated.grant.name}; the old one answers "invalid token" from now on. It is shown only once:\n${regenerated.token}\n`,
      );
    return 0;
  }
  if (sub === 'delete') {
    const { positionals } = parse(rest, {}, true);
    const { deleted } = await client().grants.delete.mutate({ name: checkName(positionals[0], GRANT_USAGE) });
    process.stdout.write(`Deleted grant ${deleted}; its transfers stay in the history\n`);
    return 0;
  }
  throw new UsageError(GRANT_USAGE);
}

const TRANSFERS_USAGE = `usage: dbferry transfers list [--grant NAME] [--status S] [--direction outgoing|incoming] [--table T] [--since ISO]
         [--limit N] [--json]
       dbferry transfers approve ID [--reason R] | deny ID --reason R   (admin token)`;

/** `dbferry transfers list|approve|deny`, as an admin. */
export async function transfersCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const client = () => apiClient();
  if (sub === 'list' || sub === undefined) {
    const { values } = parse(rest, {
      grant: { type: 'string' },
      status: { type: 'string' },
      direction: { type: 'string' },
      table: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string', default: '100' },
      json: { type: 'boolean', default: false },
    });
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new UsageError('--limit must be a whole number from 1 to 500');
    const status = oneOf<TransferStatus>(values.status, TRANSFER_STATUSES, '--status');
    const direction = oneOf<TransferDirection>(values.direction, TRANSFER_DIRECTIONS, '--direction');
    const list: TransferView[] = await client().transfers.list.query({
      limit,
      ...(values.grant ? { grant: values.grant } : {}),
      ...(status ? { status } : {}),
      ...(direction ? { direction } : {}),
      ...(values.table ? { table: values.table } : {}),
      ...(values.since ? { since: values.since } : {}),
    });
    if (values.json) process.stdout.write(`${JSON.stringify(list)}\n`);
    else if (!list.length) process.stdout.write('(no transfers)\n');
    else
      process.stdout.write(
        table([
          ['ID', 'CREATED', 'DIRECTION', 'GRANT', 'TABLE', 'STATUS', 'RECORDS', 'BYTES', 'FROM', 'DECIDED'],
          ...list.map((t) => [
            String(t.id),
            t.createdAt,
            t.direction,
            orDash(t.grant ?? t.profile),
            orDash(t.table),
            t.status,
            String(t.records),
            String(t.bytes),
            orDash(t.requesterIp),
            t.decidedBy ? `${t.decidedBy}: ${orDash(t.decisionReason)}` : '-',
          ]),
        ]),
      );
    return 0;
  }
  if (sub === 'approve' || sub === 'deny') {
    const { values, positionals } = parse(rest, { reason: { type: 'string' }, json: { type: 'boolean', default: false } }, true);
    const id = Number(positionals[0]);
    if (!Number.isInteger(id) || id < 1) throw new UsageError(`usage: dbferry transfers ${sub} ID (the id \`transfers list\` shows)`);
    const reason = values.reason?.trim();
    let transfer: TransferView;
    if (sub === 'deny') {
      if (!reason) throw new UsageError('dbferry transfers deny ID --reason R: give a reason');
      transfer = await client().transfers.deny.mutate({ id, reason });
    } else {
      transfer = await client().transfers.approve.mutate({ id, ...(reason ? { reason } : {}) });
    }
    if (values.json) process.stdout.write(`${JSON.stringify(transfer)}\n`);
    else process.stdout.write(`Transfer ${transfer.id} (${transfer.table ?? '-'}) is ${transfer.status}\n`);
    return 0;
  }
  throw new UsageError(TRANSFERS_USAGE);
}
