// The config file's `access.users` applied to the control schema at start-up: missing users are
// created with their role, and each user's config-file permissions are made exactly what the file says.
import type { AccessConfig } from '../config/access.ts';
import type { Grant } from './policy.ts';
import type { PermissionStore } from './permissions.ts';
import type { UserStore } from './users.ts';

export function grantsOf(entry: AccessConfig['users'][string]): Grant[] {
  return [
    ...Object.entries(entry.connections).flatMap(([name, actions]) =>
      actions.map((action) => ({ kind: 'connection' as const, name, action })),
    ),
    ...Object.entries(entry.targets).flatMap(([name, actions]) => actions.map((action) => ({ kind: 'target' as const, name, action }))),
  ];
}

/** The API and the workers apply the same file when they start together: a deadlock between them is tried again. */
const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

export async function applyAccessConfig(access: AccessConfig, users: UserStore, permissions: PermissionStore): Promise<void> {
  for (const [name, entry] of Object.entries(access.users)) {
    const user = await users.ensure(name, entry.role);
    for (let attempt = 1; ; attempt++) {
      try {
        await permissions.syncFromConfig(user.id, grantsOf(entry));
        break;
      } catch (error) {
        if (attempt >= 5 || !RETRYABLE.has((error as { code?: string }).code ?? '')) throw error;
        await new Promise((r) => setTimeout(r, 50 * attempt + Math.random() * 100));
      }
    }
  }
}
