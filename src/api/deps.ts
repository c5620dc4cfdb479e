// The clients and stores the API creates once at start-up and hands to its services.
import type { Client } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import type { DbferryConfig } from '../config/schema.ts';
import type { TokenStore } from '../control/tokens.ts';
import type { RunStore } from '../control/runs.ts';
import type { BackupStores } from '../activities/storage/stores.ts';

/** What every API request may use; created once when the API starts. */
export interface ApiDeps {
  config: DbferryConfig;
  temporal: Client;
  controlPool: Pool;
  tokens: TokenStore;
  runs: RunStore;
  /** One store per configured backup target, created on first use and closed with the API. */
  stores: BackupStores;
}
