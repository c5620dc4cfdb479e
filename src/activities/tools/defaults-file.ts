// The one way credentials reach a tool: a 0600 option file in a 0700 directory, for the length of
// one call, so a password never appears on a command line or in a tool's environment.
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ConnectionConfig } from '../../config/schema.ts';
import { resolvePassword } from '../../config/credentials.ts';

// Option files quote values in double quotes with backslash escapes (MySQL "Using Option Files").
const optionValue = (v: string): string => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Extra option-file groups for one tool, e.g. `{ myloader: ['init-command=…'] }`. */
export type ToolOptions = Record<string, string[]>;

/**
 * The option-file lines that give every tool the connection's TLS settings, by group (measured
 * against a mariadbd with `REQUIRE SSL` and the 10.11 tools of this repository):
 * - `[client]`: `ssl-ca`, `ssl-cert`, `ssl-key`, read by every tool (MariaDB's and MySQL's alike);
 * - `[client-mariadb]`: `ssl` and `ssl-verify-server-cert=1`, read by mysql, mysqldump, mariabackup and by
 *   mydumper/myloader through libmariadb (which takes only `=1`: a bare `ssl-verify-server-cert` is ignored there);
 * - `[mydumper]`, `[myloader]`: `ssl-enforce=1`, libmariadb's own key: without it mydumper 0.10 connects in
 *   clear text unless a CA is given (mysql, mysqldump and mariabackup would refuse the unknown key elsewhere);
 * - `[xtrabackup]` (MySQL flavor only): `loose-ssl-mode=VERIFY_IDENTITY`, MySQL's spelling of the same check.
 * `rejectUnauthorized: false` keeps the connection encrypted but verifies nothing, as the worker's own
 * pool does: neither the CA nor the host name is checked (a given `ca` is not passed on).
 */
export function tlsOptions(conn: ConnectionConfig): ToolOptions {
  const tls = conn.tls;
  if (!tls) return {};
  const verify = tls.rejectUnauthorized;
  const client: string[] = [];
  if (tls.ca && verify) client.push(`ssl-ca=${optionValue(tls.ca)}`);
  if (tls.cert) client.push(`ssl-cert=${optionValue(tls.cert)}`);
  if (tls.key) client.push(`ssl-key=${optionValue(tls.key)}`);
  const options: ToolOptions = {
    client,
    'client-mariadb': ['ssl=1', `ssl-verify-server-cert=${verify ? 1 : 0}`],
    mydumper: ['ssl-enforce=1'],
    myloader: ['ssl-enforce=1'],
  };
  if (conn.flavor === 'mysql') options.xtrabackup = [`loose-ssl-mode=${verify ? 'VERIFY_IDENTITY' : 'REQUIRED'}`];
  return options;
}

/**
 * The option file body for a connection (mydumper, myloader, mysql, mysqldump and mariabackup all
 * read it): credentials and address under `[client]`, the TLS settings (see tlsOptions), and any
 * tool-specific groups, each group written once.
 */
export function defaultsFileBody(name: string, conn: ConnectionConfig, toolOptions: ToolOptions = {}): string {
  const client = [`user=${optionValue(conn.user)}`, `password=${optionValue(resolvePassword(name, conn))}`];
  if (conn.socket) client.push(`socket=${optionValue(conn.socket)}`);
  else client.push(`host=${optionValue(conn.host ?? '127.0.0.1')}`, `port=${conn.port ?? 3306}`);
  const groups = new Map<string, string[]>([['client', client]]);
  for (const extra of [tlsOptions(conn), toolOptions]) {
    for (const [group, options] of Object.entries(extra)) groups.set(group, [...(groups.get(group) ?? []), ...options]);
  }
  const lines = [...groups].flatMap(([group, options]) => [`[${group}]`, ...options]);
  return `${lines.join('\n')}\n`;
}

/**
 * Runs `fn` with a 0600 option file holding the connection's credentials, so passwords reach the
 * tools without ever appearing on a command line; the file is removed whatever happens.
 */
export async function withDefaultsFile<T>(
  workDir: string,
  name: string,
  conn: ConnectionConfig,
  fn: (path: string) => Promise<T>,
  toolOptions: ToolOptions = {},
): Promise<T> {
  const dir = join(workDir, '.secrets');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const path = join(dir, `${name}-${randomBytes(8).toString('hex')}.cnf`);
  await writeFile(path, defaultsFileBody(name, conn, toolOptions), { mode: 0o600, flag: 'wx' });
  try {
    return await fn(path);
  } finally {
    await rm(path, { force: true });
  }
}
