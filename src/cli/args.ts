// Argument parsing for the CLI: node's parseArgs with usage errors that exit 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** parseArgs with errors a user can act on. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `CONN/DB` → `{ connection, database }`. */
export function parseRef(value: string | undefined, flag: string): { connection: string; database: string } {
  const match = value ? /^([^/]+)\/([^/]+)$/.exec(value) : null;
  if (!match) throw new UsageError(`${flag} must be CONNECTION/DATABASE, got ${JSON.stringify(value ?? '')}`);
  return { connection: match[1]!, database: match[2]! };
}
