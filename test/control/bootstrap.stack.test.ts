// The config file's users applied by several processes at once (the API and workers starting together).
import { afterAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { migrateControlSchema } from '../../src/control/migrations.ts';
import { applyAccessConfig } from '../../src/control/bootstrap.ts';
import { UserStore } from '../../src/control/users.ts';
import { PermissionStore } from '../../src/control/permissions.ts';
import { accessSchema } from '../../src/config/access.ts';
import { dropDatabases, uniqueDbName } from '../harness/mysql.ts';

describe('applying the access config', () => {
  const db = uniqueDbName('ctl_boot');
  const pool = mysql.createPool({ host: '127.0.0.1', port: 3306, user: 'root', dateStrings: true, connectionLimit: 12 });
  afterAll(async () => {
    await pool.end();
    await dropDatabases(db);
  });

  it('ends with exactly the file’s users and permissions when six processes apply it at once, and again after an edit', async () => {
    await migrateControlSchema(pool, db);
    const users = new UserStore(pool, db);
    const permissions = new PermissionStore(pool, db);
    const first = accessSchema.parse({
      users: {
        ops: { role: 'admin' },
        dana: { connections: { prod: ['read'], staging: ['read', 'write'] }, targets: { s3: ['backup'] } },
        vic: { role: 'viewer', connections: { '*': ['read'] } },
      },
    });
    await Promise.all(Array.from({ length: 6 }, () => applyAccessConfig(first, users, permissions)));
    expect((await users.list()).map((u) => `${u.name}:${u.role}`)).toEqual(['dana:operator', 'ops:admin', 'vic:viewer']);
    const held = async (name: string) => (await permissions.list(name)).map((p) => `${p.kind}:${p.name}:${p.action}:${p.origin}`).sort();
    expect(await held('dana')).toEqual([
      'connection:prod:read:config',
      'connection:staging:read:config',
      'connection:staging:write:config',
      'target:s3:backup:config',
    ]);

    // An admin's grant stays; a permission removed from the file goes; the role in the file is applied only at creation.
    const dana = (await users.get('dana'))!;
    await permissions.grant(dana.id, [{ kind: 'target', name: 's3', action: 'restore' }], 'ops');
    const edited = accessSchema.parse({ users: { dana: { role: 'admin', connections: { staging: ['read'] } } } });
    await Promise.all(Array.from({ length: 3 }, () => applyAccessConfig(edited, users, permissions)));
    expect(await held('dana')).toEqual(['connection:staging:read:config', 'target:s3:restore:api']);
    expect((await users.get('dana'))!.role).toBe('operator');
  });
});
