// The worker's long-lived clients; each activity factory picks the ones it uses.
import type { DbferryConfig } from '../config/schema.ts';
import type { MysqlPools } from './mysql/pools.ts';
import type { BackupStores } from './storage/stores.ts';

/** Long-lived clients and settings the worker creates once and hands to every activity. */
export interface ActivityDeps {
  config: DbferryConfig;
  pools: MysqlPools;
  /** One store per configured backup target. */
  stores: BackupStores;
  webhookSecret: string | undefined;
}
