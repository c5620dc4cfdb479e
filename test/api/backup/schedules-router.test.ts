// The schedules router called in-process: auth, input validation and the service calls behind it.
import { describe } from 'vitest';
import { testProcedures } from '../fake-services.ts';

const request = { name: 'nightly', source: { connection: 'local', database: 'shop' }, target: 'files', cron: '30 1 * * *' };

describe('schedules router', () => {
  testProcedures([
    {
      procedure: 'schedules.create',
      input: request,
      calls: 'schedules.create',
      args: [
        {
          ...request,
          format: 'mysqldump',
          compression: 'gzip',
          threads: 4,
          retention: null,
          timezone: 'UTC',
          overlap: 'skip',
          paused: false,
        },
      ],
      bad: { input: { ...request, cron: '99 * * * *' }, field: 'cron' },
    },
    { procedure: 'schedules.list', calls: 'schedules.list', args: [] },
    {
      procedure: 'schedules.get',
      input: { name: 'nightly' },
      calls: 'schedules.get',
      args: ['nightly'],
      bad: { input: { name: '-x' }, field: 'name' },
    },
    {
      procedure: 'schedules.update',
      input: { name: 'nightly', timezone: 'Europe/Berlin' },
      calls: 'schedules.update',
      args: [{ name: 'nightly', timezone: 'Europe/Berlin' }],
      bad: { input: { name: 'nightly', timezone: 'europe/berlin' }, field: 'timezone' },
    },
    {
      procedure: 'schedules.pause',
      input: { name: 'nightly', note: 'maintenance' },
      calls: 'schedules.pause',
      args: ['nightly', 'maintenance'],
      bad: { input: { name: 'nightly', note: 'x'.repeat(501) }, field: 'note' },
    },
    {
      procedure: 'schedules.resume',
      input: { name: 'nightly' },
      calls: 'schedules.resume',
      args: ['nightly', undefined],
      bad: { input: { name: 'nightly', note: 3 }, field: 'note' },
    },
    {
      procedure: 'schedules.trigger',
      input: { name: 'nightly' },
      calls: 'schedules.trigger',
      args: ['nightly'],
      bad: { input: { name: 'a/b' }, field: 'name' },
    },
    {
      procedure: 'schedules.delete',
      input: { name: 'nightly' },
      calls: 'schedules.delete',
      args: ['nightly'],
      bad: { input: {}, field: 'name' },
    },
  ]);
});
