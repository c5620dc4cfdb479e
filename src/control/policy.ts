// Who may do what, as pure rules: roles, token scopes and per-resource permissions. The API checks
// them before anything starts and the worker checks them again before a run touches a database.

export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** The API's domains; a scope is `<domain>:read`, `<domain>:write`, `<domain>:*` or `*`. */
export const DOMAINS = ['copies', 'backups', 'schedules', 'restores', 'pulls', 'access', 'audit', 'grants', 'transfers'] as const;
export type Domain = (typeof DOMAINS)[number];
export type Scope = `${Domain}:read` | `${Domain}:write`;

/** Domains only admins reach, whatever the token's scopes: pull grants let people outside read our data, so admins manage them. */
const ADMIN_DOMAINS: ReadonlySet<Domain> = new Set(['access', 'audit', 'grants', 'transfers']);
/** Single procedures only admins may call, though their domain is open to operators. */
export const ADMIN_ONLY_PROCEDURES: ReadonlySet<string> = new Set(['pulls.cleanup']);

/** What a permission is on, and the actions each kind of resource has. */
export const RESOURCE_ACTIONS = {
  /** read: a source of copies, backups and pulls; write: a destination; physical: physical backups of its server. */
  connection: ['read', 'write', 'physical'],
  /** backup: backups written there (and listed); restore: restored or downloaded from there. */
  target: ['backup', 'restore'],
} as const;
export type ResourceKind = keyof typeof RESOURCE_ACTIONS;
export type Action = (typeof RESOURCE_ACTIONS)[ResourceKind][number];

/** One thing a request or a run needs: an action on a named resource, and the input field that names it. */
export interface Need {
  action: Action;
  kind: ResourceKind;
  name: string;
  /** The request field the 403 names (`source.connection`). */
  field: string;
}

/** A permission row: `name` is a resource name or `*` (every resource of that kind). */
export interface Grant {
  kind: ResourceKind;
  name: string;
  action: Action;
}

/** The caller as a request sees it. */
export interface Principal {
  id: number;
  name: string;
  role: Role;
  /** The token's scopes; null: whatever the role allows. */
  scopes?: readonly string[] | null;
}

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** The scopes a token may be limited to, checked when it is created. */
export function parseScopes(text: string): string[] {
  const scopes = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const scope of scopes) {
    if (scope === '*') continue;
    const [domain, level, extra] = scope.split(':');
    if (extra !== undefined || !(DOMAINS as readonly string[]).includes(domain ?? '') || !['read', 'write', '*'].includes(level ?? '')) {
      throw new Error(
        `unknown scope "${scope}": use <domain>:read, <domain>:write or <domain>:* with a domain of ${DOMAINS.join(', ')}, or *`,
      );
    }
  }
  if (!scopes.length) throw new Error('give at least one scope');
  return [...new Set(scopes)];
}

/** Whether a token's scopes cover `scope`; `write` covers `read` of the same domain. */
export function scopesCover(scopes: readonly string[] | null | undefined, scope: Scope): boolean {
  if (!scopes) return true;
  const [domain, level] = scope.split(':') as [Domain, 'read' | 'write'];
  return scopes.some((s) => s === '*' || s === `${domain}:*` || s === scope || (level === 'read' && s === `${domain}:write`));
}

/** Why `principal` may not use `scope` (on procedure `procedure`), or null when it may. */
export function refuseScope(principal: Principal, scope: Scope, procedure?: string): string | null {
  const [domain, level] = scope.split(':') as [Domain, 'read' | 'write'];
  if (principal.role !== 'admin') {
    if (ADMIN_DOMAINS.has(domain) || (procedure && ADMIN_ONLY_PROCEDURES.has(procedure))) {
      return `${procedure ?? domain} is for admins; ${principal.name} is ${principal.role === 'operator' ? 'an operator' : 'a viewer'}`;
    }
    if (principal.role === 'viewer' && level === 'write')
      return `${principal.name} is a viewer: viewers may read, not start, change or cancel`;
  }
  if (!scopesCover(principal.scopes, scope)) return `this token's scopes (${principal.scopes?.join(', ')}) do not include ${scope}`;
  return null;
}

/** Whether the grants allow one need; admins hold every permission. */
export function allows(role: Role, grants: readonly Grant[], need: Pick<Need, 'action' | 'kind' | 'name'>): boolean {
  if (role === 'admin') return true;
  return grants.some((g) => g.kind === need.kind && g.action === need.action && (g.name === '*' || g.name === need.name));
}

/** The first need the grants do not allow, or null. Viewers hold no data permissions whatever is granted. */
export function firstRefused(role: Role, grants: readonly Grant[], needs: readonly Need[]): Need | null {
  for (const need of needs) {
    if (role === 'viewer' || !allows(role, grants, need)) return need;
  }
  return null;
}

const VERB: Record<Action, string> = {
  read: 'read from connection',
  write: 'write to connection',
  physical: 'take physical backups of connection',
  backup: 'back up to target',
  restore: 'restore or download from target',
};

/** `alice may not write to connection "prod" (no write permission)`. */
export const describeRefusal = (user: string, need: Need): string =>
  `${user} may not ${VERB[need.action]} "${need.name}" (no ${need.action} permission on it)`;

/** The scope of a tRPC procedure: its router's domain, read for queries and subscriptions, write for mutations. */
export function procedureScope(path: string, type: 'query' | 'mutation' | 'subscription'): Scope | null {
  const domain = path.split('.')[0] as Domain;
  if (!(DOMAINS as readonly string[]).includes(domain)) return null;
  return `${domain}:${type === 'mutation' ? 'write' : 'read'}`;
}
