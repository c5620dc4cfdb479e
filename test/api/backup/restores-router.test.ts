// The restores router called in-process: logical and chain restores; auth, input validation and
// the service calls behind them.
import { describe } from 'vitest';
import { testProcedures } from '../fake-services.ts';

const id = '2f1c8d4e-8b7a-4c3d-9e2f-1a2b3c4d5e6f';
const destination = { connection: 'local', database: 'restored' };

describe('restores router', () => {
  testProcedures([
    {
      procedure: 'restores.start',
      input: { backupId: 'b1', destination },
      calls: 'restores.start',
      args: [{ backupId: 'b1', destination, recreateDestination: false, threads: 4 }],
      bad: { input: { backupId: 'b1', destination: { connection: 'local', database: 'x;y' } }, field: 'destination.database' },
    },
    {
      procedure: 'restores.start',
      input: { chain: { backupId: 'b2' }, target: 'files', to: { folder: '/srv/datadir' } },
      calls: 'physical.startChain',
      args: [{ chain: { backupId: 'b2' }, target: 'files', to: { folder: '/srv/datadir' }, threads: 4 }],
      bad: { input: { chain: { backupId: 'b2' }, target: 'files', to: { folder: 'relative' } }, field: 'to.folder' },
    },
    {
      procedure: 'restores.get',
      input: { id },
      calls: 'restores.get',
      args: [id],
      bad: { input: { id: 'x' }, field: 'id' },
      setup: (services) => services.physical.findChain.mockResolvedValue(null),
    },
    {
      procedure: 'restores.get',
      input: { id },
      calls: 'physical.findChain',
      args: [id],
    },
    {
      procedure: 'restores.list',
      input: { limit: 3 },
      calls: 'restores.list',
      args: [3],
      bad: { input: { limit: 101 }, field: 'limit' },
      setup: (services) => {
        services.restores.list.mockResolvedValue([]);
        services.physical.listChains.mockResolvedValue([]);
      },
    },
    {
      procedure: 'restores.cancel',
      input: { id },
      calls: 'restores.cancel',
      args: [id],
      bad: { input: { id: 1 }, field: 'id' },
      setup: (services) => services.physical.cancelChain.mockResolvedValue(null),
    },
    { procedure: 'restores.cancel', input: { id }, calls: 'physical.cancelChain', args: [id] },
  ]);
});
