// Resolves a connection name to its password (passwordEnv or passwordFile) at run time, in one place.
import { readFileSync } from 'node:fs';
import type { ConnectionConfig } from './schema.ts';
import { ConfigError } from './load.ts';

/** Resolves a connection's password at run time, inside the worker or API process only. */
export function resolvePassword(name: string, conn: ConnectionConfig): string {
  if (conn.passwordEnv) {
    const value = process.env[conn.passwordEnv];
    if (value === undefined) throw new ConfigError(`connections.${name}.passwordEnv: environment variable ${conn.passwordEnv} is not set`);
    return value;
  }
  if (conn.passwordFile) {
    try {
      return readFileSync(conn.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError(`connections.${name}.passwordFile: cannot read ${conn.passwordFile}`, { cause: error });
    }
  }
  return '';
}
