// Reads a workflow history saved as the Temporal CLI's JSON (what the replayers take).
import { createRequire } from 'node:module';
import proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root.js';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';

type History = ReturnType<typeof historyFromJSON>;
type FromJson = (type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }) => History;

/**
 * `historyFromJSON`, or the same conversion through @temporalio/proto's own protobufjs when the
 * install holds two copies of protobufjs 8 (one under @temporalio/common, one under
 * @temporalio/proto, because the root holds @grpc's protobufjs 7): the SDK's protojson then refuses
 * the other copy's message type with "type must be a Type". The CLI writes canonical enum names,
 * so the SDK's renaming of older JSON forms is not needed here.
 */
export function savedHistory(json: unknown): History {
  try {
    return historyFromJSON(json);
  } catch (error) {
    if (!(error instanceof TypeError) || error.message !== 'type must be a Type') throw error;
    const requireFromProto = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'));
    const { fromJson } = requireFromProto('protobufjs/ext/protojson') as { fromJson: FromJson };
    const root = patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown };
    return fromJson(root.lookupType('temporal.api.history.v1.History'), json, { ignoreUnknownFields: true });
  }
}
