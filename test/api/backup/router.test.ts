// The backups router called in-process: logical and physical backups, the log, downloads and
// physical plans; auth, input validation and the service calls behind them.
import { describe } from 'vitest';
import { testProcedures } from '../fake-services.ts';

const source = { connection: 'local', database: 'shop' };
const plan = { name: 'nightly', connection: 'local', target: 'files', fullCron: '@daily', incrementalCron: '@hourly' };

describe('backups router', () => {
  testProcedures([
    {
      procedure: 'backups.trigger',
      input: { source, target: 'files' },
      calls: 'backups.trigger',
      args: [{ source, target: 'files', format: 'mysqldump', compression: 'gzip', threads: 4 }],
      bad: { input: { source, target: '../etc' }, field: 'target' },
    },
    {
      procedure: 'backups.trigger',
      input: { kind: 'physical-incremental', connection: 'local', target: 'files', parentId: 'b1' },
      calls: 'physical.trigger',
      args: [{ kind: 'physical-incremental', connection: 'local', target: 'files', compression: 'zstd', threads: 4, parentId: 'b1' }],
      bad: { input: { kind: 'physical-full', connection: 'local', target: 'files', parentId: 'b1' }, field: 'parentId' },
    },
    {
      procedure: 'backups.list',
      input: { source: { connection: 'local' }, status: 'failed' },
      calls: 'backups.list',
      args: [{ source: { connection: 'local' }, status: 'failed', limit: 50 }],
      bad: { input: { from: 'yesterday' }, field: 'from' },
    },
    { procedure: 'backups.get', input: { id: 'b1' }, calls: 'backups.get', args: ['b1'], bad: { input: { id: '../x' }, field: 'id' } },
    {
      procedure: 'backups.download',
      input: { id: 'b1' },
      calls: 'backups.download',
      args: ['b1'],
      bad: { input: { id: 'a'.repeat(200) }, field: 'id' },
    },
    { procedure: 'backups.cancel', input: { id: 'b1' }, calls: 'backups.cancel', args: ['b1'], bad: { input: {}, field: 'id' } },
    {
      procedure: 'backups.getPhysical',
      input: { id: 'p1' },
      calls: 'physical.getBackup',
      args: ['p1'],
      bad: { input: { id: '/etc' }, field: 'id' },
    },
    {
      procedure: 'backups.cancelPhysical',
      input: { id: 'p1' },
      calls: 'physical.cancelBackup',
      args: ['p1'],
      bad: { input: { id: 'p1', extra: 1 }, field: 'extra' },
    },
    {
      procedure: 'backups.createPhysicalPlan',
      input: plan,
      calls: 'physicalPlans.create',
      args: [{ ...plan, timezone: 'UTC', compression: 'zstd', threads: 4, retention: null, paused: false }],
      bad: { input: { ...plan, fullCron: '61 * * * *' }, field: 'fullCron' },
    },
    {
      procedure: 'backups.getPhysicalPlan',
      input: { name: 'nightly' },
      calls: 'physicalPlans.get',
      args: ['nightly'],
      bad: { input: { name: 'a b' }, field: 'name' },
    },
    {
      procedure: 'backups.triggerPhysicalPlan',
      input: { name: 'nightly', kind: 'physical-full' },
      calls: 'physicalPlans.trigger',
      args: ['nightly', 'physical-full'],
      bad: { input: { name: 'nightly', kind: 'logical' }, field: 'kind' },
    },
    {
      procedure: 'backups.deletePhysicalPlan',
      input: { name: 'nightly' },
      calls: 'physicalPlans.delete',
      args: ['nightly'],
      bad: { input: { name: '' }, field: 'name' },
    },
  ]);
});
