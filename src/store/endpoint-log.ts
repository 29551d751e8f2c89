import { LiveEndpoints } from '../engine/live-endpoints.js';
import type { EndpointRow } from '../shared/rows.js';

/**
 * A row of the endpoints' change log (SQLite migration 6, PostgreSQL migration 5): one per change
 * to an endpoint, written in the change's transaction, with the `endpoints_version` the change set
 * (random, so it also tells a row apart from another that got the same `seq` after a rollback on
 * SQLite).
 */
export interface EndpointChange {
  seq: number;
  endpoint_id: string;
  version: number;
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
 * most) follows on from it and accounts for the `version` read just before: its first row is still
 * `seen` itself, it has PATCH_MAX changes or fewer after it, and its last row set that version.
 * `undefined`: the cache must reload every endpoint (it never read the log; the row it read was
 * pruned or rolled back; too much changed; or the version moved without a row, as a writer of a
 * release before the log does, or a change that committed between the two reads).
 */
export function changedSince(
  seen: EndpointChange | undefined,
  log: readonly EndpointChange[],
  version: number,
): string[] | undefined {
  const first = log[0];
  if (seen === undefined || first === undefined) return undefined;
  if (first.seq !== seen.seq || first.version !== seen.version) return undefined;
  if (log.length > PATCH_MAX + 1 || log[log.length - 1]!.version !== version) return undefined;
  return [...new Set(log.slice(1).map((change) => change.endpoint_id))];
}

/**
 * The endpoint caches of both stores: LiveEndpoints kept up to date by the change log. A store's
 * `refresh` reads the version; when it moved, the log from `logFrom()` (if any) and `changedIn` it
 * says which endpoints to read again for `applyChanges`; otherwise it reloads every endpoint
 * (`reload`, with the log's last row read before the rows, so that a change committed in between
 * is read again next time, never missed).
 */
export abstract class LoggedEndpoints extends LiveEndpoints {
  /** The last row of the change log this cache has applied; kept only once its rows are in. */
  private seen: EndpointChange | undefined;

  /** Where to read the log from, or `undefined`: reload every endpoint. */
  protected logFrom(): number | undefined {
    return this.seen?.seq;
  }

  /** The endpoints `log` says changed, or `undefined`: reload every endpoint (see `changedSince`). */
  protected changedIn(version: number, log: readonly EndpointChange[]): string[] | undefined {
    return changedSince(this.seen, log, version);
  }

  /** Applies the changes of `log` to `ids`, given their rows as they are now (a removed one absent). */
  protected applyChanges(
    version: number,
    log: readonly EndpointChange[],
    ids: readonly string[],
    rows: ReadonlyMap<string, EndpointRow>,
  ): void {
    this.patch(version, new Map(ids.map((id) => [id, rows.get(id)])));
    this.seen = log[log.length - 1];
  }

  /** Every enabled endpoint, and the log's last row read before them. */
  protected reload(version: number, rows: readonly EndpointRow[], seen: EndpointChange | undefined): void {
    this.replace(version, rows);
    this.seen = seen;
  }
}
