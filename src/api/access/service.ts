// Users, tokens and permissions, managed by admins (tRPC `access.*`), and the audit log they read
// (`audit.list`). Every change is itself audited.
import type { AuthenticatedUser, TokenInfo } from '../../control/tokens.ts';
import type { PermissionInfo } from '../../control/permissions.ts';
import type { UserInfo } from '../../control/users.ts';
import type { AuditEntry, AuditQuery } from '../../control/audit.ts';
import type { Grant, Role } from '../../control/policy.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import type { PermissionInput } from './schemas.ts';

const DAY_MS = 86_400_000;

function grantsOf(input: PermissionInput): Grant[] {
  const kind = input.connection !== undefined ? 'connection' : 'target';
  const name = (input.connection ?? input.target)!;
  return input.actions.map((action) => ({ kind, name, action }) as Grant);
}

export class AccessService {
  constructor(private readonly deps: ApiDeps) {}

  private audit(actor: AuthenticatedUser, action: string, resource: string, detail?: Record<string, unknown>): Promise<void> {
    return this.deps.access.record({ actor: actor.name, actorUserId: actor.id, action, resource, detail: detail ?? null });
  }

  private async user(name: string, field = 'user'): Promise<UserInfo> {
    const user = await this.deps.users.get(name);
    if (!user) throw new ApiError('NOT_FOUND', `no user named "${name}"`, field);
    return user;
  }

  listUsers(): Promise<UserInfo[]> {
    return this.deps.users.list();
  }

  async createUser(actor: AuthenticatedUser, input: { name: string; role: Role }): Promise<UserInfo> {
    if (await this.deps.users.get(input.name)) throw new ApiError('CONFLICT', `a user named "${input.name}" already exists`, 'name');
    const user = await this.deps.users.create(input.name, input.role);
    await this.audit(actor, 'user.create', `user ${user.name}`, { role: user.role });
    return user;
  }

  async setRole(actor: AuthenticatedUser, input: { name: string; role: Role }): Promise<UserInfo> {
    const user = await this.user(input.name, 'name');
    if (user.role === 'admin' && input.role !== 'admin' && !user.disabledAt && (await this.deps.users.enabledAdmins()) <= 1) {
      throw new ApiError('CONFLICT', `${user.name} is the last enabled admin; make another admin first`, 'role');
    }
    const updated = (await this.deps.users.setRole(user.name, input.role))!;
    await this.audit(actor, 'user.role', `user ${user.name}`, { from: user.role, to: input.role });
    return updated;
  }

  async setDisabled(actor: AuthenticatedUser, name: string, disabled: boolean): Promise<UserInfo> {
    const user = await this.user(name, 'name');
    if (disabled && user.role === 'admin' && !user.disabledAt && (await this.deps.users.enabledAdmins()) <= 1) {
      throw new ApiError('CONFLICT', `${user.name} is the last enabled admin; make another admin first`, 'name');
    }
    const updated = (await this.deps.users.setDisabled(user.name, disabled))!;
    await this.audit(actor, disabled ? 'user.disable' : 'user.enable', `user ${user.name}`);
    return updated;
  }

  listTokens(input: { user?: string | undefined }): Promise<TokenInfo[]> {
    return this.deps.tokens.list(input.user);
  }

  /** A new token, shown once in the answer and never again. */
  async createToken(
    actor: AuthenticatedUser,
    input: { user: string; name: string; scopes?: string[] | undefined; expiresInDays?: number | undefined },
  ): Promise<{ token: string; id: number; user: string; scopes: string[] | null; expiresAt: string | null }> {
    const user = await this.user(input.user);
    if (user.disabledAt) throw new ApiError('CONFLICT', `user "${user.name}" is disabled`, 'user');
    const expiresAt = input.expiresInDays ? new Date(Date.now() + input.expiresInDays * DAY_MS) : null;
    const created = await this.deps.tokens.create(user.name, { name: input.name, scopes: input.scopes ?? null, expiresAt });
    await this.audit(actor, 'token.create', `token ${created.id}`, {
      user: user.name,
      label: input.name,
      scopes: input.scopes ?? null,
      expiresAt: expiresAt?.toISOString() ?? null,
    });
    return {
      token: created.token,
      id: created.id,
      user: user.name,
      scopes: input.scopes ?? null,
      expiresAt: expiresAt?.toISOString() ?? null,
    };
  }

  async revokeToken(actor: AuthenticatedUser, id: number): Promise<TokenInfo> {
    const revoked = await this.deps.tokens.revoke(id);
    if (!revoked) throw new ApiError('NOT_FOUND', `no live token with id ${id}`, 'id');
    await this.audit(actor, 'token.revoke', `token ${id}`, { user: revoked.user });
    return revoked;
  }

  listPermissions(input: { user?: string | undefined }): Promise<PermissionInfo[]> {
    return this.deps.permissions.list(input.user);
  }

  private checkResource(input: PermissionInput): void {
    const { connection, target } = input;
    if (connection !== undefined && connection !== '*' && !Object.hasOwn(this.deps.config.connections, connection)) {
      throw new ApiError('BAD_REQUEST', `no connection named "${connection}"`, 'connection');
    }
    if (target !== undefined && target !== '*' && !Object.hasOwn(this.deps.config.targets, target)) {
      throw new ApiError('BAD_REQUEST', `no target named "${target}"`, 'target');
    }
  }

  async grant(actor: AuthenticatedUser, input: PermissionInput): Promise<PermissionInfo[]> {
    this.checkResource(input);
    const user = await this.user(input.user);
    const grants = grantsOf(input);
    await this.deps.permissions.grant(user.id, grants, actor.name);
    await this.audit(actor, 'permission.grant', `user ${user.name}`, { grants });
    return this.deps.permissions.list(user.name);
  }

  async revoke(actor: AuthenticatedUser, input: PermissionInput): Promise<PermissionInfo[]> {
    const user = await this.user(input.user);
    const grants = grantsOf(input);
    const { fromConfig } = await this.deps.permissions.revoke(user.id, grants);
    if (fromConfig.length) {
      const g = fromConfig[0]!;
      throw new ApiError(
        'CONFLICT',
        `${g.action} on ${g.kind} "${g.name}" comes from the config file (access.users.${user.name}); remove it there`,
        'actions',
      );
    }
    await this.audit(actor, 'permission.revoke', `user ${user.name}`, { grants });
    return this.deps.permissions.list(user.name);
  }

  listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    return this.deps.audit.list(query);
  }
}
