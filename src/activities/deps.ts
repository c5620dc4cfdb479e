import type { DbferryConfig } from '../config/schema.ts';
import type { MysqlPools } from '../db/pools.ts';

/** Long-lived clients and settings the worker creates once and hands to every activity. */
export interface ActivityDeps {
  config: DbferryConfig;
  pools: MysqlPools;
  webhookSecret: string | undefined;
}
