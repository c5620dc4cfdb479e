// A chain restore's scratch directory on the worker that runs it, and the record in it of what has
// been applied to `data/`, so a retried step on the same host knows what the dead attempt finished.
import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';

/** What the scratch directory says has been done to `data/`: the pieces applied, and the one being applied now. */
export interface PreparedRecord {
  applied: string[];
  applying: string | null;
}

export const refuse = (message: string, type: string): ApplicationFailure => ApplicationFailure.nonRetryable(message, type);

/** The scratch directory of a chain restore and what lives in it. */
export function chainScratch(workDir: string, restoreId: string) {
  const root = join(workDir, `chain-${restoreId}`);
  return {
    root,
    piece: (index: number, id: string) => join(root, 'pieces', `${String(index).padStart(3, '0')}-${id}.xbstream`),
    data: join(root, 'data'),
    inc: join(root, 'inc'),
    record: join(root, 'prepared.json'),
    run: join(root, 'run'),
    pidFile: join(root, 'tool.pid'),
  };
}

/** A folder delivery's path while it is copied across filesystems. */
export const partialFolder = (path: string, restoreId: string): string => `${path}.dbferry-partial-${restoreId}`;

/** The step needs what an earlier step left on another host: ScratchMissing sends the workflow back to fetch again. */
export const scratchMissing = (restoreId: string, what: string): ApplicationFailure =>
  refuse(`${what} of restore ${restoreId} is not on this worker (the step that made it ran on another host)`, 'ScratchMissing');

export const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

export async function isEmptyOrMissing(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

export const readRecord = async (workDir: string, restoreId: string): Promise<PreparedRecord | null> =>
  JSON.parse(await readFile(chainScratch(workDir, restoreId).record, 'utf8').catch(() => 'null')) as PreparedRecord | null;

export const writeRecord = (workDir: string, restoreId: string, record: PreparedRecord): Promise<void> =>
  writeFile(chainScratch(workDir, restoreId).record, JSON.stringify(record));

/** True when the record says `data/` is exactly the finished chain `appliedAll`. */
export const isFinished = (record: PreparedRecord | null, appliedAll: string[]): boolean =>
  record !== null && record.applying === null && record.applied.join(',') === appliedAll.join(',');

/** Refuses a datadir that is gone (ScratchMissing) or not exactly the finished chain (PreparedDirStale). */
export async function checkPrepared(workDir: string, restoreId: string, appliedAll: string[]): Promise<void> {
  const record = await readRecord(workDir, restoreId);
  if (!record || !(await exists(chainScratch(workDir, restoreId).data))) throw scratchMissing(restoreId, 'the prepared datadir');
  if (!isFinished(record, appliedAll)) {
    throw refuse(`the prepared datadir of restore ${restoreId} is not the finished chain; preparing it again`, 'PreparedDirStale');
  }
}
