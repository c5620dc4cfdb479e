// Vitest global setup: one real Temporal dev server and one S3 server for the whole run.
import type { TestProject } from 'vitest/node';
import { startS3Server, type S3Server } from '../../src/dev/s3-server.ts';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/dev/temporal-server.ts';
import { searchAttributeFlags } from '../../src/shared/temporal.ts';
import { saveHistories } from './save-histories.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    s3: { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string };
  }
}

let server: TemporalDevServer | undefined;
let s3: S3Server | undefined;

/** One real Temporal dev server (in memory, headless) and one S3 server (loopback, temp dir) for the whole run. */
export async function setup(project: TestProject): Promise<void> {
  server = await startTemporalDevServer({ headless: true, searchAttributes: searchAttributeFlags });
  project.provide('temporalAddress', server.address);
  s3 = await startS3Server();
  const { endpoint, accessKeyId, secretAccessKey, region } = s3;
  project.provide('s3', { endpoint, accessKeyId, secretAccessKey, region });
}

export async function teardown(): Promise<void> {
  // DBFERRY_SAVE_HISTORIES=dir keeps every run's history, the material of the replay test.
  const dir = process.env.DBFERRY_SAVE_HISTORIES;
  if (dir && server) console.log(`saved ${await saveHistories(server.address, dir)} workflow histories into ${dir}`);
  await server?.stop();
  await s3?.stop();
}
