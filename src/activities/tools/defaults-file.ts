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
 * The `[client]` option file body for a connection (mydumper, myloader, mysql, mysqldump and
 * mariabackup all read it), plus any tool-specific groups.
 */
export function defaultsFileBody(name: string, conn: ConnectionConfig, toolOptions: ToolOptions = {}): string {
  const lines = ['[client]', `user=${optionValue(conn.user)}`, `password=${optionValue(resolvePassword(name, conn))}`];
  if (conn.socket) lines.push(`socket=${optionValue(conn.socket)}`);
  else lines.push(`host=${optionValue(conn.host ?? '127.0.0.1')}`, `port=${conn.port ?? 3306}`);
  if (conn.tls?.ca) lines.push(`ssl-ca=${optionValue(conn.tls.ca)}`);
  if (conn.tls?.cert) lines.push(`ssl-cert=${optionValue(conn.tls.cert)}`);
  if (conn.tls?.key) lines.push(`ssl-key=${optionValue(conn.tls.key)}`);
  for (const [group, options] of Object.entries(toolOptions)) lines.push(`[${group}]`, ...options);
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
