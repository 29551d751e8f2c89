import type { EndpointRow } from '../shared/rows.js';

/**
 * A row of the endpoints' change log (SQLite migration 6, PostgreSQL migration 5): one per change
 * to an endpoint, written in the change's transaction. On SQLite a rolled-back row's `seq` can be
 * handed out again, so each row carries a random `token` too; PostgreSQL never reuses one.
 */
export interface EndpointChange {
  seq: number;
  endpoint_id: string;
  token?: number | null;
}

/** Rows of the change log kept: a cache further behind reloads every endpoint. */
export const ENDPOINT_CHANGES_KEPT = 10_000;
/** The log is pruned on every this many changes. */
export const PRUNE_EVERY = 100;
/** Changes read again one by one, at most; past it the cache reloads every endpoint. */
export const PATCH_MAX = 256;
/** How many rows a cache reads from the row it read last (that row included). */
export const PATCH_READ = PATCH_MAX + 2;

/**
 * The endpoints that changed after `seen`, when `log` (read from `seen.seq` on, PATCH_READ rows at
 * most) follows on from it: its first row is still `seen` itself, and there are PATCH_MAX changes
 * or fewer after it. `undefined`: the cache must reload every endpoint (it never read the log, the
 * row it read was pruned or rolled back, or too much changed).
 */
export function changedSince(
  seen: EndpointChange | undefined,
  log: readonly EndpointChange[],
): string[] | undefined {
  const first = log[0];
  if (seen === undefined || first === undefined) return undefined;
  if (first.seq !== seen.seq || (first.token ?? null) !== (seen.token ?? null)) return undefined;
  if (log.length > PATCH_MAX + 1) return undefined;
  return [...new Set(log.slice(1).map((change) => change.endpoint_id))];
}

/** Each changed endpoint's row as it is now (`undefined`: removed), for `LiveEndpoints.patch`. */
export type EndpointPatch = Map<string, EndpointRow | undefined>;
