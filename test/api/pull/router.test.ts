// The pulls router called in-process: auth, input validation and the service calls behind it.
import { describe } from 'vitest';
import { testProcedures } from '../fake-services.ts';

const id = '2f1c8d4e-8b7a-4c3d-9e2f-1a2b3c4d5e6f';

describe('pulls router', () => {
  testProcedures([
    {
      procedure: 'pulls.start',
      input: { profile: 'app', tables: ['users'] },
      calls: 'pulls.start',
      args: [{ profile: 'app', full: false, tables: ['users'] }],
      bad: { input: { profile: 'app', tables: ['users`; DROP'] }, field: 'tables.0' },
    },
    {
      procedure: 'pulls.dryRun',
      input: { profile: 'app' },
      calls: 'pulls.dryRun',
      args: [{ profile: 'app', full: false }],
      bad: { input: { profile: '../x' }, field: 'profile' },
    },
    { procedure: 'pulls.get', input: { id }, calls: 'pulls.get', args: [id], bad: { input: { id: 'x' }, field: 'id' } },
    {
      procedure: 'pulls.list',
      input: { limit: 5 },
      calls: 'pulls.list',
      args: [5, undefined],
      bad: { input: { limit: 5, before: 'x' }, field: 'before' },
    },
    { procedure: 'pulls.cancel', input: { id }, calls: 'pulls.cancel', args: [id], bad: { input: { id: '' }, field: 'id' } },
    {
      procedure: 'pulls.cleanup',
      input: {},
      calls: 'pulls.cleanup',
      args: [{ maxAgeMinutes: 60, dryRun: false }],
      bad: { input: { maxAgeMinutes: 0 }, field: 'maxAgeMinutes' },
    },
    {
      procedure: 'pulls.progress',
      input: { id },
      calls: 'pulls.get',
      args: [id],
      bad: { input: {}, field: 'id' },
      setup: (services) => services.pulls.get.mockResolvedValue({ status: 'failed', phase: 'done', progress: 10 }),
      subscription: true,
    },
  ]);
});
