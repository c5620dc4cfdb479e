// A dump lives on the worker that took it: a load that lands on another worker takes it again there.
import { log } from '@temporalio/workflow';
import { failureType } from './failures.ts';

/**
 * Dumps, then loads the dump; a load that finds the dump missing on its worker (failure type
 * `DumpMissing`: the worker that held it is gone) dumps again wherever it is now, then loads.
 * `beforeLoad` runs once, between the first dump and the first load. Returns the dump loaded.
 */
export async function dumpThenLoad<D>(dump: () => Promise<D>, load: (dumped: D) => Promise<unknown>, beforeLoad?: () => void): Promise<D> {
  let dumped = await dump();
  beforeLoad?.();
  try {
    await load(dumped);
  } catch (error) {
    if (failureType(error) !== 'DumpMissing') throw error;
    log.warn('the dump is missing on this worker; dumping again');
    dumped = await dump();
    await load(dumped);
  }
  return dumped;
}
