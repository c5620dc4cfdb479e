// Infrastructure settings from the environment (Temporal address and namespace, webhook secret), parsed with zod at start-up.
import { z } from 'zod';
import { describeZodError } from '../shared/names.ts';
import { ConfigError } from './load.ts';

const envSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  DBFERRY_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
});

export type DbferryEnv = z.infer<typeof envSchema>;

/** Infrastructure settings from the environment, parsed once at start-up. */
export function loadEnv(env: NodeJS.ProcessEnv = process.env): DbferryEnv {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(`environment: ${describeZodError(parsed.error)}`);
  return parsed.data;
}
