// Fake API services for the router and dispatcher unit tests: every method is a vi.fn, created on
// first use, resolving to undefined unless a test says otherwise.
import type { AuthenticatedUser } from '../../src/control/tokens.ts';
import { expect, it, vi, type Mock } from 'vitest';
import { TRPCError } from '@trpc/server';
import type { ApiServices } from '../../src/api/context.ts';
import { appRouter } from '../../src/api/router.ts';
import { createCallerFactory } from '../../src/api/trpc.ts';

export const alice: AuthenticatedUser = { id: 7, name: 'alice', role: 'admin' };

/** Each service's methods as loosely typed mocks: tests answer with just the fields a route reads. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LooseMock = Mock<(...args: any[]) => any>;
export type FakeServices = { [S in keyof ApiServices]: { [M in keyof ApiServices[S]]: LooseMock } };

const SERVICE_NAMES: Array<keyof ApiServices> = [
  'health',
  'copies',
  'backups',
  'schedules',
  'restores',
  'physical',
  'physicalPlans',
  'pulls',
  'access',
];

/** Services whose every method is a mock, made on first use. */
export function fakeServices(): FakeServices {
  const service = () => {
    const methods: Record<string, Mock> = {};
    return new Proxy(methods, { get: (target, method: string) => (target[method] ??= vi.fn(async () => undefined)) });
  };
  return Object.fromEntries(SERVICE_NAMES.map((name) => [name, service()])) as unknown as FakeServices;
}

/** The mock behind `service.method`. */
export function fakeOf(services: FakeServices, serviceMethod: string): LooseMock {
  const [service, method] = serviceMethod.split('.') as [string, string];
  return (services as unknown as Record<string, Record<string, LooseMock>>)[service]![method]!;
}

const createCaller = createCallerFactory(appRouter);
type Caller = Record<string, Record<string, (input?: unknown) => Promise<unknown>>>;

/** The app router called in-process, as `user` (null: without a token). */
export const callerFor = (services: FakeServices, user: typeof alice | null): Caller =>
  createCaller({ ...(services as unknown as ApiServices), user }) as unknown as Caller;

/** One procedure's unit test: a valid input, the service call it must make, and a bad input. */
export interface ProcedureCase {
  /** `router.procedure` */
  procedure: string;
  input?: unknown;
  /** `service.method` the procedure must call, with these arguments after the user. */
  calls: string;
  args: unknown[];
  /** An invalid input and the field its 400 must name. */
  bad?: { input: unknown; field: string };
  /** Fakes the services need for the happy path (lists, the view a subscription reads). */
  setup?: (services: FakeServices) => void;
  /** A subscription: the test reads its first value. */
  subscription?: boolean;
}

const call = (caller: Caller, procedure: string, input: unknown) => {
  const [router, name] = procedure.split('.') as [string, string];
  return caller[router]![name]!(input);
};

const error = async (promise: Promise<unknown>): Promise<TRPCError> => {
  const caught = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(caught).toBeInstanceOf(TRPCError);
  return caught as TRPCError;
};

/** The three tests every procedure gets: no token, bad input, and the happy path reaching its service. */
export function testProcedures(cases: ProcedureCase[]): void {
  it.each(cases)('$procedure answers UNAUTHORIZED without a token and calls no service', async (c) => {
    const services = fakeServices();
    const refused = await error(call(callerFor(services, null), c.procedure, c.input));
    expect(refused.code).toBe('UNAUTHORIZED');
    expect(fakeOf(services, c.calls)).not.toHaveBeenCalled();
  });

  it.each(cases.filter((c) => c.bad))('$procedure answers BAD_REQUEST naming the bad field', async (c) => {
    const services = fakeServices();
    const refused = await error(call(callerFor(services, alice), c.procedure, c.bad!.input));
    expect(refused.code).toBe('BAD_REQUEST');
    expect(refused.message).toMatch(new RegExp(`^${c.bad!.field.replace(/[.()]/g, '\\$&')}: `));
    expect(fakeOf(services, c.calls)).not.toHaveBeenCalled();
  });

  it.each(cases)('$procedure passes the parsed input to $calls', async (c) => {
    const services = fakeServices();
    c.setup?.(services);
    const fake = fakeOf(services, c.calls);
    if (!c.setup) fake.mockResolvedValue({ answered: c.procedure });
    const result = await call(callerFor(services, alice), c.procedure, c.input);
    if (c.subscription) {
      for await (const _view of result as AsyncIterable<unknown>) break;
    } else if (!c.setup) expect(result).toEqual({ answered: c.procedure });
    expect(fake).toHaveBeenCalledWith(alice, ...c.args);
  });
}
