// The config file's `access` section: users and the permissions they start with, checked against
// the connections and targets the same file declares.
import { z } from 'zod';
import { ROLES, RESOURCE_ACTIONS } from '../control/policy.ts';
import { USER_NAME } from '../control/users.ts';

const userName = z.string().regex(USER_NAME, 'letters, digits, _ . @ -; at most 64');
const actionsOf = <K extends keyof typeof RESOURCE_ACTIONS>(kind: K) => z.array(z.enum(RESOURCE_ACTIONS[kind])).min(1);

export const accessUserSchema = z
  .object({
    role: z.enum(ROLES).default('operator'),
    /** `{ local: [read, write] }`; `*` names every connection. */
    connections: z.record(z.string(), actionsOf('connection')).default({}),
    /** `{ s3: [backup, restore] }`; `*` names every target. */
    targets: z.record(z.string(), actionsOf('target')).default({}),
  })
  .strict();

export const accessSchema = z
  .object({ users: z.record(userName, accessUserSchema).default({}) })
  .strict()
  .default({ users: {} });

export type AccessConfig = z.infer<typeof accessSchema>;

/** Every permission names a configured connection or target (or `*`). */
export function checkAccess(
  cfg: { access: AccessConfig; connections: Record<string, unknown>; targets: Record<string, unknown> },
  ctx: z.RefinementCtx,
): void {
  for (const [user, entry] of Object.entries(cfg.access.users)) {
    for (const name of Object.keys(entry.connections)) {
      if (name !== '*' && !Object.hasOwn(cfg.connections, name)) {
        ctx.addIssue({ code: 'custom', path: ['access', 'users', user, 'connections', name], message: `no connection named "${name}"` });
      }
    }
    for (const name of Object.keys(entry.targets)) {
      if (name !== '*' && !Object.hasOwn(cfg.targets, name)) {
        ctx.addIssue({ code: 'custom', path: ['access', 'users', user, 'targets', name], message: `no target named "${name}"` });
      }
    }
  }
}
