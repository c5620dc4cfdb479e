// The API's side of the access model: a request's needs checked against the caller's permissions
// (403 naming the field, and an audit entry) before anything starts.
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { PermissionStore } from '../../control/permissions.ts';
import type { AuditEvent, AuditLog } from '../../control/audit.ts';
import { allows, describeRefusal, type Need, type ResourceKind, type Action } from '../../control/policy.ts';
import { ApiError } from '../errors.ts';

export class AccessGuard {
  constructor(
    private readonly permissions: PermissionStore,
    private readonly audit: AuditLog,
  ) {}

  /** Refuses with 403, naming the field of the first need `user` does not hold; admins hold every permission. */
  async require(user: AuthenticatedUser, needs: readonly Need[], action: string): Promise<void> {
    if (user.role === 'admin' || !needs.length) return;
    const refusal = await this.permissions.refusal(user.name, needs);
    if (!refusal) return;
    const need = refusal.need ?? needs[0]!;
    const message =
      refusal.reason === 'no permission' ? describeRefusal(user.name, need) : `${describeRefusal(user.name, need)}: ${refusal.reason}`;
    await this.record({
      actor: user.name,
      actorUserId: user.id,
      action,
      resource: `${need.kind} ${need.name}`,
      outcome: 'refused',
      detail: { need: need.action, field: need.field },
    });
    throw new ApiError('FORBIDDEN', message, need.field);
  }

  /** Whether `user` holds one of `actions` on a resource (for filtering lists). */
  async holdsAny(user: AuthenticatedUser, kind: ResourceKind, name: string, actions: readonly Action[]): Promise<boolean> {
    if (user.role === 'admin') return true;
    const standing = await this.permissions.standing(user.name);
    if (!standing || standing.disabled) return false;
    return actions.some((action) => allows(standing.role, standing.grants, { kind, name, action }));
  }

  /** Writes an audit entry; a failure to write is logged, never fatal to the request it describes. */
  async record(event: AuditEvent): Promise<void> {
    await this.audit.record(event).catch((e: Error) => console.error(`audit: ${e.message}`));
  }
}
