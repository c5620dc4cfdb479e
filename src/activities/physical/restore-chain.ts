// Chain restore activities: resolve the chain (resolve-chain.ts), fetch each piece (fetch-piece.ts),
// prepare the base and apply each incremental (chain-steps.ts), deliver the datadir to a folder or,
// through a temporary server, one database into a connection (deliver.ts), and clean up. Every step
// is its own activity and leaves a record in the scratch directory (chain-scratch.ts).
import { rm } from 'node:fs/promises';
import type { PhysicalBackupManifest, PhysicalTool } from '../../workflows/physical/contracts.ts';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import { whileHeartbeating } from '../tools/heartbeat.ts';
import { killOrphanedTool } from '../tools/tools.ts';
import { chainScratch, partialFolder } from './chain-scratch.ts';
import { applyIncrement, deliverToFolder, prepareBase } from './chain-steps.ts';
import {
  deliverFromTempServer,
  deliveryPidFile,
  stopChainServer,
  type DeliverFromTempServerInput,
  type DeliverFromTempServerOutput,
} from './deliver.ts';
import { fetchChainPiece, type FetchChainPieceInput } from './fetch-piece.ts';
import { resolveRestoreChain } from './resolve-chain.ts';
import type { PhysicalDeps } from './index.ts';

export { chainScratch, partialFolder };

/** What a step needs of one piece (no credentials, nothing from the manifest it does not use). */
export interface ChainPiece {
  id: string;
  key: string;
  sha256: string;
  size: number;
  streamBytes: number;
  compression: PhysicalBackupManifest['compression'];
  tool: PhysicalTool;
  fromLsn: string;
  toLsn: string;
}

export interface ResolveRestoreChainInput {
  restoreId: string;
  target: string;
  backupId: string | null;
  before: string | null;
  connection: string | null;
  folder: string | null;
  destination: DatabaseRef | null;
  recreateDestination: boolean;
}
export interface ResolveRestoreChainOutput {
  pieces: ChainPiece[];
  /** The destination's character set when it already existed (empty), so cleanup can put it back. */
  existingDestination: { charset: string; collation: string } | null;
}

export function createPhysicalRestoreActivities(deps: PhysicalDeps) {
  const workDir = deps.config.workDir;

  return {
    /**
     * Reads the target's physical manifests, resolves the chain up to the asked piece and checks
     * that it joins up (a missing middle piece, an LSN gap, a foreign piece are refused here, before
     * any download), checks the destination and the free space in workDir.
     */
    async resolveRestoreChain(input: ResolveRestoreChainInput): Promise<ResolveRestoreChainOutput> {
      return resolveRestoreChain(deps, input);
    },

    /**
     * Downloads one piece into the scratch directory, hashing on the way; a checksum or size that
     * differs from the manifest is refused (the file is not kept). A piece already fetched by an
     * earlier attempt is not fetched again.
     */
    async fetchChainPiece(input: FetchChainPieceInput): Promise<{ bytes: number; reused: boolean }> {
      return fetchChainPiece({ workDir, stores: deps.stores }, input);
    },

    /** Extracts the full backup into `data/` and prepares it (again from the fetched file on a retry: idempotent). */
    async prepareChainBase(input: { restoreId: string; piece: ChainPiece; last: boolean }): Promise<void> {
      return whileHeartbeating(() => prepareBase(workDir, input));
    },

    /** Applies one incremental to the prepared base, or refuses (PreparedDirStale) a base an interrupted step left half-updated. */
    async applyChainIncrement(input: {
      restoreId: string;
      piece: ChainPiece;
      index: number;
      appliedBefore: string[];
      last: boolean;
    }): Promise<void> {
      return whileHeartbeating(() => applyIncrement(workDir, input));
    },

    /** Moves the prepared datadir to the folder: absent or complete, never half-copied. */
    async deliverChainToFolder(input: { restoreId: string; folder: string; appliedAll: string[] }): Promise<{ path: string }> {
      return whileHeartbeating(() => deliverToFolder(workDir, input));
    },

    /** Reads one database out of the prepared datadir through a temporary server, into the restore's dump directory. */
    async deliverFromTempServer(input: DeliverFromTempServerInput): Promise<DeliverFromTempServerOutput> {
      return deliverFromTempServer(workDir, input);
    },

    /**
     * Removes everything a chain restore left on this worker, whatever happened: stops its temporary
     * server, kills an orphaned tool, removes the scratch directory and a half-copied folder.
     */
    async removeChainScratch({ restoreId, folder }: { restoreId: string; folder: string | null }): Promise<void> {
      const paths = chainScratch(workDir, restoreId);
      await stopChainServer(paths.run);
      await killOrphanedTool(paths.pidFile);
      await killOrphanedTool(deliveryPidFile(workDir, restoreId));
      await rm(paths.root, { recursive: true, force: true });
      if (folder) await rm(partialFolder(folder, restoreId), { recursive: true, force: true });
    },
  };
}
