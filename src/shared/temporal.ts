// The search attributes dbferry registers and sets on its runs (kind, source, destination, requested-by).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** dbferry's custom search attributes, registered on the dev server by setup and by `dbferry dev`. */
export const searchAttributes = {
  kind: defineSearchAttributeKey('DbferryKind', SearchAttributeType.KEYWORD),
  source: defineSearchAttributeKey('DbferrySource', SearchAttributeType.KEYWORD),
  destination: defineSearchAttributeKey('DbferryDestination', SearchAttributeType.KEYWORD),
  requestedBy: defineSearchAttributeKey('DbferryRequestedBy', SearchAttributeType.KEYWORD),
} as const;

/** `NAME=Keyword` pairs for `temporal server start-dev --search-attribute`. */
export const searchAttributeFlags = Object.values(searchAttributes).map((k) => `${k.name}=Keyword`);

/** The four attributes every dbferry run and schedule carries, so the Web UI can find it. */
export function runSearchAttributes(run: { kind: string; source: string; destination: string; requestedBy: string }) {
  return [
    { key: searchAttributes.kind, value: run.kind },
    { key: searchAttributes.source, value: run.source },
    { key: searchAttributes.destination, value: run.destination },
    { key: searchAttributes.requestedBy, value: run.requestedBy },
  ];
}
