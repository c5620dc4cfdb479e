import type { TestProject } from 'vitest/node';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/dev/temporal-server.ts';
import { searchAttributeFlags } from '../../src/shared/temporal.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}

let server: TemporalDevServer | undefined;

/** One real Temporal dev server (in memory, headless) for the whole run. */
export async function setup(project: TestProject): Promise<void> {
  server = await startTemporalDevServer({ headless: true, searchAttributes: searchAttributeFlags });
  project.provide('temporalAddress', server.address);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
