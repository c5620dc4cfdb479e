// What each kind of run needs permission for, computed from its workflow input alone, so the API
// (before it starts the run) and the worker (before the run touches anything) ask the same question.
import type { Need } from './policy.ts';

const conn = (action: Need['action'], name: string, field: string): Need => ({ action, kind: 'connection', name, field });
const target = (action: Need['action'], name: string, field: string): Need => ({ action, kind: 'target', name, field });

interface Ref {
  connection: string;
  database: string;
}

/** The needs of a run, by the workflow type that runs it; `sourceOf` names the connection a restored backup was taken from. */
export type RunInput =
  | { workflow: 'copyDatabase'; source: Ref; destination: Ref }
  | { workflow: 'backupDatabase'; source: Ref; target: string }
  | { workflow: 'restoreBackup'; target: string; destination: Ref; backupSource: string | null }
  | { workflow: 'physicalBackup'; connection: string; target: string }
  | { workflow: 'restoreChain'; target: string; destination: Ref | null; pieceSources: readonly string[] }
  | { workflow: 'sanitizedPull'; source: string; destination: string };

export function runNeeds(input: RunInput): Need[] {
  switch (input.workflow) {
    case 'copyDatabase':
      return [
        conn('read', input.source.connection, 'source.connection'),
        conn('write', input.destination.connection, 'destination.connection'),
      ];
    case 'backupDatabase':
      return [conn('read', input.source.connection, 'source.connection'), target('backup', input.target, 'target')];
    case 'restoreBackup':
      // Restoring a backup exposes its source's data: whoever restores it may read that source.
      return [
        target('restore', input.target, 'target'),
        ...(input.backupSource ? [conn('read', input.backupSource, 'backupId')] : []),
        conn('write', input.destination.connection, 'destination.connection'),
      ];
    case 'physicalBackup':
      return [conn('physical', input.connection, 'connection'), target('backup', input.target, 'target')];
    case 'restoreChain':
      return [
        target('restore', input.target, 'target'),
        ...[...new Set(input.pieceSources)].map((c) => conn('read', c, 'chain')),
        ...(input.destination ? [conn('write', input.destination.connection, 'to.destination.connection')] : []),
      ];
    case 'sanitizedPull':
      // A pull reads its profile's source and writes its destination; the profile decides what is masked.
      return [conn('read', input.source, 'profile'), conn('write', input.destination, 'profile')];
  }
}
