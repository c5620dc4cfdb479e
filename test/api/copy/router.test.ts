// The copies router called in-process: auth, input validation and the service calls behind it.
import { describe } from 'vitest';
import { testProcedures, type FakeServices } from '../fake-services.ts';

const id = '2f1c8d4e-8b7a-4c3d-9e2f-1a2b3c4d5e6f';
const ref = (database: string) => ({ connection: 'local', database });
const running = (services: FakeServices) => services.copies.get.mockResolvedValue({ status: 'succeeded', phase: 'done', progress: 100 });

describe('copies router', () => {
  testProcedures([
    {
      procedure: 'copies.start',
      input: { source: ref('a'), destination: ref('b') },
      calls: 'copies.start',
      args: [{ source: ref('a'), destination: ref('b'), threads: 4, recreateDestination: false }],
      bad: { input: { source: ref('a`; DROP'), destination: ref('b') }, field: 'source.database' },
    },
    { procedure: 'copies.get', input: { id }, calls: 'copies.get', args: [id], bad: { input: { id: 'nope' }, field: 'id' } },
    {
      procedure: 'copies.list',
      input: undefined,
      calls: 'copies.list',
      args: [20, undefined],
      bad: { input: { limit: 0 }, field: 'limit' },
    },
    { procedure: 'copies.cancel', input: { id }, calls: 'copies.cancel', args: [id], bad: { input: {}, field: 'id' } },
    {
      procedure: 'copies.progress',
      input: { id },
      calls: 'copies.get',
      args: [id],
      bad: { input: { id: 42 }, field: 'id' },
      setup: running,
      subscription: true,
    },
  ]);
});
