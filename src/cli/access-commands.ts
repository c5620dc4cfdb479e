// The CLI's access commands. `user` and `token` work on the control schema directly (they make the
// first admin, before any token exists); `access` and `audit` go through the API with an admin's token.
import { userInfo } from 'node:os';
import { loadConfig } from '../config/load.ts';
import { MysqlPools } from '../activities/mysql/pools.ts';
import { migrateControlSchema } from '../control/migrations.ts';
import { TokenStore } from '../control/tokens.ts';
import { USER_NAME, UserExistsError, UserStore } from '../control/users.ts';
import { AuditLog } from '../control/audit.ts';
import { isRole, parseScopes, ROLES } from '../control/policy.ts';
import { parse, UsageError } from './args.ts';
import { apiClient } from './user-commands.ts';

interface ControlStores {
  users: UserStore;
  tokens: TokenStore;
  audit: AuditLog;
}

/** The control schema's stores for one command, migrated first, closed after. */
async function withControl<T>(fn: (stores: ControlStores) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const pools = new MysqlPools(config);
  try {
    const pool = pools.get(config.control.connection);
    await migrateControlSchema(pool, config.control.database);
    const db = config.control.database;
    return await fn({ users: new UserStore(pool, db), tokens: new TokenStore(pool, db), audit: new AuditLog(pool, db) });
  } finally {
    await pools.close();
  }
}

/** Who the command line acts as in the audit log. */
const cliActor = (): string => `cli:${userInfo().username}`.slice(0, 64);

const table = (rows: string[][]): string => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
};

/** `30d`, `12h`, `90m` → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d{1,5})([mhd])$/.exec(text);
  if (!match || Number(match[1]) === 0)
    throw new UsageError(`${flag} must be a duration such as 30d, 12h or 90m, got ${JSON.stringify(text)}`);
  return Number(match[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'm' | 'h' | 'd'];
}

const checkName = (name: string | undefined, what: string): string => {
  if (!name || !USER_NAME.test(name)) throw new UsageError(`${what} must be a user name (letters, digits, _ . @ -; at most 64)`);
  return name;
};

export async function userCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const usage = 'usage: dbferry user create NAME [--role admin|operator|viewer] | list [--json] | disable NAME | enable NAME';
  if (sub === 'create') {
    const { values, positionals } = parse(rest, { role: { type: 'string', default: 'operator' } }, true);
    const name = checkName(positionals[0], 'NAME');
    if (!isRole(values.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    const role = values.role;
    return withControl(async ({ users, audit }) => {
      try {
        const user = await users.create(name, role);
        await audit.record({ actor: cliActor(), action: 'user.create', resource: `user ${user.name}`, detail: { role } });
        process.stdout.write(`Created user ${user.name} (${user.role}). Give it a token: dbferry token create --user ${user.name}\n`);
        return 0;
      } catch (error) {
        if (error instanceof UserExistsError) throw new UsageError(error.message);
        throw error;
      }
    });
  }
  if (sub === 'list') {
    const { values } = parse(rest, { json: { type: 'boolean', default: false } });
    return withControl(async ({ users }) => {
      const list = await users.list();
      if (values.json) process.stdout.write(`${JSON.stringify(list)}\n`);
      else
        process.stdout.write(
          table([['NAME', 'ROLE', 'CREATED', 'DISABLED'], ...list.map((u) => [u.name, u.role, u.createdAt, u.disabledAt ?? '-'])]),
        );
      return 0;
    });
  }
  if (sub === 'disable' || sub === 'enable') {
    const { positionals } = parse(rest, {}, true);
    const name = checkName(positionals[0], 'NAME');
    return withControl(async ({ users, audit }) => {
      const user = await users.get(name);
      if (!user) throw new UsageError(`no user named "${name}"`);
      if (sub === 'disable' && user.role === 'admin' && !user.disabledAt && (await users.enabledAdmins()) <= 1) {
        throw new UsageError(`${name} is the last enabled admin; make another admin first`);
      }
      await users.setDisabled(name, sub === 'disable');
      await audit.record({ actor: cliActor(), action: `user.${sub}`, resource: `user ${name}` });
      process.stdout.write(`User ${name} ${sub}d${sub === 'disable' ? ': its tokens answer 401 from now on' : ''}\n`);
      return 0;
    });
  }
  throw new UsageError(usage);
}

export async function tokenCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const usage =
    'usage: dbferry token create --user NAME [--name LABEL] [--scopes copies:write,backups:read] [--expires-in 30d] | list [--user NAME] [--json] | revoke ID';
  if (sub === 'create') {
    const { values } = parse(rest, {
      user: { type: 'string' },
      name: { type: 'string', default: 'cli' },
      scopes: { type: 'string' },
      'expires-in': { type: 'string' },
    });
    const name = checkName(values.user, '--user NAME');
    if (!/^[A-Za-z0-9 _.@-]{1,64}$/.test(values.name)) throw new UsageError('--name must be a label of letters, digits, spaces, _ . @ -');
    let scopes: string[] | null = null;
    try {
      scopes = values.scopes !== undefined ? parseScopes(values.scopes) : null;
    } catch (error) {
      throw new UsageError(`--scopes: ${(error as Error).message}`);
    }
    const expiresAt = values['expires-in'] ? new Date(Date.now() + parseDuration(values['expires-in'], '--expires-in')) : null;
    return withControl(async ({ tokens, audit }) => {
      let created;
      try {
        created = await tokens.create(name, { name: values.name, scopes, expiresAt });
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      await audit.record({
        actor: cliActor(),
        action: 'token.create',
        resource: `token ${created.id}`,
        detail: { user: name, label: values.name, scopes, expiresAt: expiresAt?.toISOString() ?? null },
      });
      const limits = [scopes ? `scopes ${scopes.join(',')}` : null, expiresAt ? `expires ${expiresAt.toISOString()}` : null].filter(
        Boolean,
      );
      process.stdout.write(
        `Created token "${values.name}" (id ${created.id}) for ${created.user.role} ${created.user.name}${limits.length ? `, ${limits.join(', ')}` : ''}. It is shown only once:\n${created.token}\n`,
      );
      return 0;
    });
  }
  if (sub === 'list') {
    const { values } = parse(rest, { user: { type: 'string' }, json: { type: 'boolean', default: false } });
    return withControl(async ({ tokens }) => {
      const list = await tokens.list(values.user);
      if (values.json) process.stdout.write(`${JSON.stringify(list)}\n`);
      else
        process.stdout.write(
          table([
            ['ID', 'USER', 'NAME', 'SCOPES', 'EXPIRES', 'LAST USED', 'REVOKED'],
            ...list.map((t) => [
              String(t.id),
              t.user,
              t.name,
              t.scopes?.join(',') ?? '(role)',
              t.expiresAt ?? '-',
              t.lastUsedAt ?? '-',
              t.revokedAt ?? '-',
            ]),
          ]),
        );
      return 0;
    });
  }
  if (sub === 'revoke') {
    const { positionals } = parse(rest, {}, true);
    const id = Number(positionals[0]);
    if (!Number.isInteger(id) || id < 1) throw new UsageError('usage: dbferry token revoke ID (the id `token list` shows)');
    return withControl(async ({ tokens, audit }) => {
      const revoked = await tokens.revoke(id);
      if (!revoked) throw new UsageError(`no live token with id ${id}`);
      await audit.record({ actor: cliActor(), action: 'token.revoke', resource: `token ${id}`, detail: { user: revoked.user } });
      process.stdout.write(`Revoked token ${id} of ${revoked.user}: it answers 401 from now on\n`);
      return 0;
    });
  }
  throw new UsageError(usage);
}

const listOf = (text: string | undefined, flag: string): string[] => {
  const items = (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!items.length) throw new UsageError(`${flag} is required (comma-separated)`);
  return items;
};

/** `dbferry access grant|revoke --user U (--connection C | --target T) --actions a,b` and `access list [--user U]`, as an admin. */
export async function accessCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const usage =
    'usage: dbferry access grant|revoke --user NAME (--connection NAME | --target NAME) --actions read,write,physical|backup,restore | list [--user NAME] [--json]';
  const client = () => apiClient();
  if (sub === 'grant' || sub === 'revoke') {
    const { values } = parse(rest, {
      user: { type: 'string' },
      connection: { type: 'string' },
      target: { type: 'string' },
      actions: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    const input = {
      user: checkName(values.user, '--user NAME'),
      ...(values.connection !== undefined ? { connection: values.connection } : {}),
      ...(values.target !== undefined ? { target: values.target } : {}),
      actions: listOf(values.actions, '--actions') as Array<'read'>,
    };
    const list = await (sub === 'grant' ? client().access.grant.mutate(input) : client().access.revoke.mutate(input));
    if (values.json) process.stdout.write(`${JSON.stringify(list)}\n`);
    else process.stdout.write(`${sub === 'grant' ? 'Granted' : 'Revoked'}; ${input.user} now holds:\n${permissionTable(list)}`);
    return 0;
  }
  if (sub === 'list') {
    const { values } = parse(rest, { user: { type: 'string' }, json: { type: 'boolean', default: false } });
    const list = await client().access.list.query(values.user ? { user: values.user } : {});
    process.stdout.write(values.json ? `${JSON.stringify(list)}\n` : permissionTable(list));
    return 0;
  }
  throw new UsageError(usage);
}

function permissionTable(
  list: Array<{ user: string; kind: string; name: string; action: string; origin: string; grantedBy: string }>,
): string {
  if (!list.length) return '(no permissions)\n';
  return table([
    ['USER', 'KIND', 'NAME', 'ACTION', 'FROM', 'BY'],
    ...list.map((p) => [p.user, p.kind, p.name, p.action, p.origin, p.grantedBy]),
  ]);
}

/** `dbferry audit [--limit N] [--user U] [--action A] [--run ID] [--json]`, as an admin. */
export async function auditCommand(args: string[]): Promise<number> {
  const { values } = parse(args, {
    limit: { type: 'string', default: '50' },
    user: { type: 'string' },
    action: { type: 'string' },
    run: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new UsageError('--limit must be a whole number from 1 to 500');
  const entries = await apiClient().audit.list.query({
    limit,
    ...(values.user ? { actor: values.user } : {}),
    ...(values.action ? { action: values.action } : {}),
    ...(values.run ? { runId: values.run } : {}),
  });
  if (values.json) process.stdout.write(`${JSON.stringify(entries)}\n`);
  else if (!entries.length) process.stdout.write('(no audit entries)\n');
  else
    process.stdout.write(
      table([
        ['AT', 'ACTOR', 'ACTION', 'RESOURCE', 'RUN', 'OUTCOME'],
        ...entries.map((e) => [e.at, e.actor, e.action, e.resource, e.runId ?? '-', e.outcome]),
      ]),
    );
  return 0;
}
