// The clients and stores the API creates once at start-up and hands to its services.
import type { Client } from '@temporalio/client';
import type { Pool } from 'mysql2/promise';
import type { DbferryConfig } from '../config/schema.ts';
import type { TokenStore } from '../control/tokens.ts';
import type { RunStore } from '../control/runs.ts';
import type { UserStore } from '../control/users.ts';
import type { PermissionStore } from '../control/permissions.ts';
import type { AuditLog } from '../control/audit.ts';
import type { AccessGuard } from './access/guard.ts';
import type { BackupStores } from '../activities/storage/stores.ts';
import type { ServerIdentities } from '../activities/mysql/server-identity.ts';
import type { Datadirs } from '../shared/restore-folder.ts';

/** What every API request may use; created once when the API starts. */
export interface ApiDeps {
  config: DbferryConfig;
  temporal: Client;
  controlPool: Pool;
  tokens: TokenStore;
  runs: RunStore;
  users: UserStore;
  permissions: PermissionStore;
  audit: AuditLog;
  /** Permission checks and the audit log, for every service. */
  access: AccessGuard;
  /** One store per configured backup target, created on first use and closed with the API. */
  stores: BackupStores;
  /** Which server each connection reaches (same-server guards, destination locks), read once per connection. */
  servers: ServerIdentities;
  /** Where the connections' servers keep their data, which folder restores may not write into. */
  datadirs: Datadirs;
}
