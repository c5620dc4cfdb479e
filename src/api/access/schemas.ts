// What admins send to `access.*` and `audit.list`: users, tokens, permissions and audit queries.
import { z } from 'zod';
import { ROLES, RESOURCE_ACTIONS, parseScopes } from '../../control/policy.ts';
import { USER_NAME } from '../../control/users.ts';

export const userNameSchema = z.string().regex(USER_NAME, 'letters, digits, _ . @ -; at most 64');
const resourceName = z.union([z.literal('*'), z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a connection or target name, or *')]);

export const createUserInputSchema = z.object({ name: userNameSchema, role: z.enum(ROLES).default('operator') }).strict();
export const userRefSchema = z.object({ name: userNameSchema }).strict();
export const setRoleInputSchema = z.object({ name: userNameSchema, role: z.enum(ROLES) }).strict();

export const createTokenInputSchema = z
  .object({
    user: userNameSchema,
    name: z
      .string()
      .regex(/^[A-Za-z0-9 _.@-]{1,64}$/, 'a label of letters, digits, spaces, _ . @ -; at most 64')
      .default('api'),
    /** `copies:read,backups:*`; absent: whatever the user's role allows. */
    scopes: z
      .array(z.string().max(40))
      .max(20)
      .superRefine((scopes, ctx) => {
        try {
          parseScopes(scopes.join(','));
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      })
      .optional(),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict();
export const tokenRefSchema = z.object({ id: z.number().int().min(1) }).strict();
export const listTokensInputSchema = z.object({ user: userNameSchema.optional() }).strict().default({});

/** One grant or revoke: a user, exactly one of connection or target, and its actions. */
export const permissionInputSchema = z
  .object({
    user: userNameSchema,
    connection: resourceName.optional(),
    target: resourceName.optional(),
    actions: z.array(z.enum([...RESOURCE_ACTIONS.connection, ...RESOURCE_ACTIONS.target])).min(1),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.connection === undefined) === (p.target === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['connection'], message: 'give exactly one of connection or target' });
      return;
    }
    const allowed: readonly string[] = p.connection !== undefined ? RESOURCE_ACTIONS.connection : RESOURCE_ACTIONS.target;
    p.actions.forEach((a, i) => {
      if (!allowed.includes(a)) {
        ctx.addIssue({
          code: 'custom',
          path: ['actions', i],
          message: `"${a}" is not an action on a ${p.connection !== undefined ? 'connection' : 'target'} (use ${allowed.join(', ')})`,
        });
      }
    });
  });
export type PermissionInput = z.infer<typeof permissionInputSchema>;
export const listPermissionsInputSchema = z.object({ user: userNameSchema.optional() }).strict().default({});

export const auditListInputSchema = z
  .object({
    limit: z.number().int().min(1).max(500).default(50),
    before: z.number().int().min(1).optional(),
    actor: z.string().max(64).optional(),
    action: z.string().max(64).optional(),
    runId: z.string().uuid().optional(),
  })
  .strict()
  .default({ limit: 50 });
