// Database, identifier and connection names: zod validation and the one quoting helper.
import { z } from 'zod';

// Identifiers reach SQL and the file names of mydumper dumps, so they are held to a strict
// alphabet at the edge. Anything else (backticks, quotes, `; DROP`, dots, slashes) is refused.
const IDENTIFIER = /^[A-Za-z0-9_$]+$/;

/** A MySQL/MariaDB database (schema) name dbferry will operate on. */
export const databaseName = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(IDENTIFIER, 'may contain only letters, digits, _ and $');

/** A table or column name. */
export const identifierName = databaseName;

/** The name of a connection declared in the config file. */
export const connectionName = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9_-]+$/, 'may contain only letters, digits, _ and -');

/** Quotes an identifier that has already passed `identifierName`; refuses anything else. */
export function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name) || name.length > 64) throw new Error(`refusing to quote invalid identifier ${JSON.stringify(name)}`);
  return `\`${name}\``;
}

/** Formats a zod error as `field.path: message; …`, so every message names the bad field. */
export function describeZodError(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`).join('; ');
}
