import { describe, expect, it } from 'vitest';
import { allows, firstRefused, parseScopes, procedureScope, refuseScope, scopesCover, type Need } from '../../src/control/policy.ts';
import { runNeeds } from '../../src/control/run-needs.ts';

const admin = { id: 1, name: 'root', role: 'admin' as const };
const operator = { id: 2, name: 'olga', role: 'operator' as const };
const viewer = { id: 3, name: 'vera', role: 'viewer' as const };

describe('scopes', () => {
  it('parses domain:read, domain:write, domain:* and *, and refuses anything else naming it', () => {
    expect(parseScopes('copies:read, backups:*  pulls:write')).toEqual(['copies:read', 'backups:*', 'pulls:write']);
    expect(parseScopes('*')).toEqual(['*']);
    for (const bad of ['copies', 'copies:admin', 'secrets:read', 'copies:read:x', ':read', ''])
      expect(() => parseScopes(bad), bad).toThrow(bad ? /unknown scope|at least one/ : /at least one/);
  });

  it('write covers read of the same domain only', () => {
    expect(scopesCover(['copies:write'], 'copies:read')).toBe(true);
    expect(scopesCover(['copies:read'], 'copies:write')).toBe(false);
    expect(scopesCover(['copies:write'], 'backups:read')).toBe(false);
    expect(scopesCover(['copies:*'], 'copies:write')).toBe(true);
    expect(scopesCover(['*'], 'audit:read')).toBe(true);
    expect(scopesCover(null, 'audit:read')).toBe(true);
  });

  it('derives a procedure scope from its router and type', () => {
    expect(procedureScope('copies.start', 'mutation')).toBe('copies:write');
    expect(procedureScope('copies.progress', 'subscription')).toBe('copies:read');
    expect(procedureScope('access.users.list', 'query')).toBe('access:read');
    expect(procedureScope('unknown.x', 'query')).toBeNull();
  });
});

describe('roles', () => {
  it('admins reach everything; operators all but access, audit and pulls.cleanup; viewers only reads', () => {
    expect(refuseScope(admin, 'access:write', 'access.grant')).toBeNull();
    expect(refuseScope(admin, 'pulls:write', 'pulls.cleanup')).toBeNull();
    expect(refuseScope(operator, 'copies:write', 'copies.start')).toBeNull();
    expect(refuseScope(operator, 'access:read', 'access.list')).toMatch(/for admins/);
    expect(refuseScope(operator, 'audit:read', 'audit.list')).toMatch(/for admins/);
    expect(refuseScope(operator, 'pulls:write', 'pulls.cleanup')).toMatch(/pulls.cleanup is for admins/);
    expect(refuseScope(viewer, 'copies:read', 'copies.get')).toBeNull();
    expect(refuseScope(viewer, 'copies:write', 'copies.start')).toMatch(/viewer/);
    expect(refuseScope(viewer, 'audit:read', 'audit.list')).toMatch(/for admins/);
  });

  it("a token's scopes narrow its role, never widen it", () => {
    expect(refuseScope({ ...operator, scopes: ['copies:read'] }, 'copies:write', 'copies.start')).toMatch(/do not include copies:write/);
    expect(refuseScope({ ...viewer, scopes: ['*'] }, 'copies:write', 'copies.start')).toMatch(/viewer/);
    expect(refuseScope({ ...admin, scopes: ['copies:*'] }, 'access:write', 'access.grant')).toMatch(/do not include/);
  });
});

describe('permissions', () => {
  const need = (action: Need['action'], kind: Need['kind'], name: string): Need => ({ action, kind, name, field: 'f' });

  it('match kind, action and name, with * for every resource of a kind', () => {
    const grants = [
      { kind: 'connection' as const, name: 'prod', action: 'read' as const },
      { kind: 'target' as const, name: '*', action: 'backup' as const },
    ];
    expect(allows('operator', grants, need('read', 'connection', 'prod'))).toBe(true);
    expect(allows('operator', grants, need('write', 'connection', 'prod'))).toBe(false);
    expect(allows('operator', grants, need('read', 'connection', 'staging'))).toBe(false);
    expect(allows('operator', grants, need('read', 'target', 'prod'))).toBe(false);
    expect(allows('operator', grants, need('backup', 'target', 's3'))).toBe(true);
    expect(allows('admin', [], need('write', 'connection', 'prod'))).toBe(true);
  });

  it('names the first need refused; viewers are refused every data action whatever they hold', () => {
    const grants = [{ kind: 'connection' as const, name: '*', action: 'read' as const }];
    const needs = runNeeds({
      workflow: 'copyDatabase',
      source: { connection: 'a', database: 'x' },
      destination: { connection: 'b', database: 'y' },
    });
    expect(firstRefused('operator', grants, needs)?.field).toBe('destination.connection');
    expect(firstRefused('viewer', grants, needs)?.field).toBe('source.connection');
    expect(firstRefused('admin', [], needs)).toBeNull();
  });

  it('restores need the backup source read as well as the target and the destination', () => {
    const needs = runNeeds({
      workflow: 'restoreBackup',
      target: 's3',
      destination: { connection: 'dev', database: 'x' },
      backupSource: 'prod',
    });
    expect(needs.map((n) => `${n.action}:${n.kind}:${n.name}`)).toEqual([
      'restore:target:s3',
      'read:connection:prod',
      'write:connection:dev',
    ]);
    const chain = runNeeds({ workflow: 'restoreChain', target: 's3', destination: null, pieceSources: ['prod', 'prod'] });
    expect(chain.map((n) => `${n.action}:${n.name}`)).toEqual(['restore:s3', 'read:prod']);
  });
});
