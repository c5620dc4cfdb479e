// Reads and validates the config file named by DBFERRY_CONFIG, with an error that names the bad field.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { describeZodError } from '../shared/names.ts';
import { configSchema, type DbferryConfig } from './schema.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses config text; every error names the field (`connections.prod.port: …`). */
export function parseConfig(text: string, origin = 'config'): DbferryConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${origin}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${origin}: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** Loads the config file named by `DBFERRY_CONFIG` (or `path`), resolving relative paths against it. */
export function loadConfig(path = process.env.DBFERRY_CONFIG): DbferryConfig {
  if (!path) throw new ConfigError('DBFERRY_CONFIG is not set: point it at a dbferry config file (see examples/dbferry.dev.json)');
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`, { cause: error });
  }
  const config = parseConfig(text, file);
  const base = dirname(file);
  if (!isAbsolute(config.workDir)) config.workDir = resolve(base, config.workDir);
  config.restoreRoots = config.restoreRoots.map((root) => resolve(base, root));
  for (const conn of Object.values(config.connections)) {
    if (conn.passwordFile && !isAbsolute(conn.passwordFile)) conn.passwordFile = resolve(base, conn.passwordFile);
  }
  return config;
}
