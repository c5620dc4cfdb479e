// The expiry sweep's activity: grants past their expiry date or their limits become `expired`
// (seed 003), each change in the audit log as `grant.expire` by `system:expiry`.
import type { DbferryConfig } from '../../config/schema.ts';
import { AuditLog } from '../../control/audit.ts';
import { GrantStore } from '../../control/grants.ts';
import type { MysqlPools } from '../mysql/pools.ts';

export interface GrantActivityDeps {
  config: DbferryConfig;
  pools: MysqlPools;
}

export function createGrantActivities(deps: GrantActivityDeps) {
  const { config } = deps;
  const pool = () => deps.pools.get(config.control.connection);
  return {
    /** Marks every grant past its date or limits `expired`; returns the names and why. */
    async expireGrants(): Promise<Array<{ name: string; reason: string }>> {
      const grants = new GrantStore(pool(), config.control.database);
      const audit = new AuditLog(pool(), config.control.database);
      const expired = await grants.expireDue(new Date());
      for (const g of expired) {
        await audit
          .record({
            actor: 'system:expiry',
            action: 'grant.expire',
            resource: `grant ${g.name}`,
            detail: { reason: g.reason, status: 'expired' },
          })
          .catch((e: Error) => console.error(`audit: ${e.message}`));
      }
      return expired.map(({ name, reason }) => ({ name, reason }));
    },
  };
}
