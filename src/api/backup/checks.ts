// Checks every backup request passes before anything runs, shared by on-demand backups and schedules.
import type { DbferryConfig } from '../../config/schema.ts';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import { checkCallbackUrl } from '../callback-url.ts';
import { findSourceProblem } from '../../shared/copy-rules.ts';
import { ApiError } from '../errors.ts';

/** Refuses an unknown target, naming `field` and listing the configured ones. */
export function checkTarget(config: DbferryConfig, name: string, field = 'target'): void {
  if (Object.hasOwn(config.targets, name)) return;
  const known = Object.keys(config.targets);
  throw new ApiError(
    'BAD_REQUEST',
    `no target named "${name}"${known.length ? ` (configured: ${known.join(', ')})` : ' (the config file declares no targets)'}`,
    field,
  );
}

/** The source connection and the target exist; a callback URL is public unless the config allows private ones. */
export async function checkBackupRequest(
  config: DbferryConfig,
  req: { source: DatabaseRef; target: string; callbackUrl?: string | null | undefined },
): Promise<void> {
  const problem = findSourceProblem(config, req.source);
  if (problem) throw new ApiError(problem.kind === 'forbidden' ? 'FORBIDDEN' : 'BAD_REQUEST', problem.message, problem.field);
  checkTarget(config, req.target);
  if (req.callbackUrl) await checkCallbackUrl(req.callbackUrl, config.webhooks.allowPrivateNetworks, 'callbackUrl');
}
