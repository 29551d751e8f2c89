import { NotFoundError } from '../shared/errors/input.js';
import { compilePatterns, type Matcher } from '../shared/match.js';
import type { EndpointRow } from '../shared/rows.js';
import { parseSecret } from '../shared/secret.js';
/** What emit and the dispatcher need of an enabled endpoint, parsed once. */
export interface LiveEndpoint {
  id: string;
  url: string;
  tenant: string | null;
  matches: Matcher;
  headers: Record<string, string>;
  /** Requests in flight at most; `null`: the sender's default. */
  concurrency: number | null;
  /** Requests per second at most; `null`: no limit. */
  ratePerSecond: number | null;
  fifo: boolean;
  /** The current signing key. */
  key: Buffer;
  /** The key being rotated out, and until when (ms) it still signs. */
  previousKey: Buffer | null;
  previousKeyUntil: number;
  /** Events queued up to this fan-out ticket went to the endpoint before its last change (see FanoutSql). */
  matchFrom: number;
  /** Its place in the oldest-first order the caches keep (see `fanoutKey`). */
  order: string;
}

/**
 * A string that sorts as endpoints are listed, oldest first (created_at, then id), and stays put
 * when the endpoint changes: where a fan-out cut over several passes resumes.
 */
export function fanoutKey(createdAt: number, id: string): string {
  return `${createdAt.toString(36).padStart(11, '0')} ${id}`;
}

export function toLive(row: EndpointRow): LiveEndpoint {
  return {
    id: row.id,
    url: row.url,
    tenant: row.tenant,
    matches: compilePatterns(JSON.parse(row.events) as string[]),
    headers: JSON.parse(row.headers) as Record<string, string>,
    concurrency: row.concurrency,
    ratePerSecond: row.rate_limit_per_second,
    fifo: row.ordering === 'fifo',
    key: parseSecret(row.secret),
    previousKey: row.previous_secret === null ? null : parseSecret(row.previous_secret),
    previousKeyUntil: row.previous_secret_until ?? 0,
    matchFrom: Number(row.match_from ?? 0),
    order: fanoutKey(row.created_at, row.id),
  };
}

/** Answers of `matching` kept at most (type and tenant pairs); past it they are forgotten at once. */
const MATCHED_KEPT = 4_096;

/**
 * The enabled endpoints in memory, indexed by id and by tenant, as of
 * `endpoints_version` `version`. Each store's cache decides when to reload
 * (SQLite synchronously, PostgreSQL asynchronously) and hands the rows to
 * `replace`.
 */
export abstract class LiveEndpoints {
  protected version = -1;
  private byId = new Map<string, LiveEndpoint>();
  private byTenant = new Map<string | null, LiveEndpoint[]>();
  private list: readonly LiveEndpoint[] = [];
  /** `matching`'s answers as of `version`, by tenant and type. */
  private matched = new Map<string, readonly LiveEndpoint[]>();

  protected replace(version: number, rows: readonly EndpointRow[]): void {
    // Sorted here, by `order` as JavaScript compares strings: `patch` and the fan-out rely on it, and
    // a database's collation may order ids otherwise (PostgreSQL's en_US puts `ep_a` before `ep_B`).
    const live = rows.map(toLive).sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    const byTenant = new Map<string | null, LiveEndpoint[]>();
    for (const endpoint of live) {
      const list = byTenant.get(endpoint.tenant);
      if (list) list.push(endpoint);
      else byTenant.set(endpoint.tenant, [endpoint]);
    }
    this.byId = new Map(live.map((e) => [e.id, e]));
    this.byTenant = byTenant;
    this.list = live;
    this.matched = new Map();
    this.version = version;
  }

  /**
   * Applies changes to a few endpoints: each id's row as it is now (`undefined`: removed; disabled
   * rows leave the cache). The indexes are changed in place (copying a map of 10,000 endpoints
   * costs milliseconds); the list `all()` hands out is copied first, so one handed out before stays
   * as it was.
   * Every row is parsed before anything changes: a row that cannot be throws with the cache intact.
   */
  protected patch(version: number, changed: ReadonlyMap<string, EndpointRow | undefined>): void {
    const now = new Map<string, LiveEndpoint | undefined>();
    for (const [id, row] of changed)
      now.set(id, row === undefined || row.enabled !== 1 ? undefined : toLive(row));
    const list = this.list.slice();
    for (const [id, endpoint] of now) {
      const old = this.byId.get(id);
      if (old !== undefined) {
        this.byId.delete(id);
        removeFrom(list, old);
        // The tenant lists are this cache's own (`matching` hands out filtered copies).
        const of = this.byTenant.get(old.tenant);
        if (of !== undefined) removeFrom(of, old);
        if (of?.length === 0) this.byTenant.delete(old.tenant);
      }
      if (endpoint === undefined) continue;
      this.byId.set(id, endpoint);
      list.splice(place(list, endpoint.order), 0, endpoint);
      let of = this.byTenant.get(endpoint.tenant);
      if (of === undefined) {
        of = [];
        this.byTenant.set(endpoint.tenant, of);
      }
      of.splice(place(of, endpoint.order), 0, endpoint);
    }
    this.list = list;
    this.matched = new Map();
    this.version = version;
  }

  /** The enabled endpoints, oldest first. */
  all(): readonly LiveEndpoint[] {
    return this.list;
  }

  get(id: string): LiveEndpoint | undefined {
    return this.byId.get(id);
  }

  /**
   * Enabled endpoints of exactly this tenant (or of none) subscribed to `type`, oldest first (the
   * order of `fanoutKey`). Remembered per type
   * and tenant until the endpoints change: an emit to a thousand endpoints does not test a thousand
   * patterns each time.
   */
  matching(type: string, tenant: string | null): readonly LiveEndpoint[] {
    const candidates = this.byTenant.get(tenant);
    if (candidates === undefined) return [];
    const key = tenant === null ? `\u0000${type}` : `${tenant}\u0000${type}`;
    let found = this.matched.get(key);
    if (found === undefined) {
      found = candidates.filter((endpoint) => endpoint.matches(type));
      if (this.matched.size >= MATCHED_KEPT) this.matched.clear();
      this.matched.set(key, found);
    }
    return found;
  }

  /**
   * The ids a replay of an event of `type` and `tenant` goes to: `ids` (each
   * enabled and of that tenant, or `NotFoundError`), or every enabled endpoint
   * that matches now. Without repeats.
   */
  replayTargets(type: string, tenant: string | null, ids: readonly string[] | undefined): string[] {
    const targets =
      ids === undefined
        ? this.matching(type, tenant)
        : ids.map((endpointId) => {
            const endpoint = this.get(endpointId);
            if (endpoint === undefined || endpoint.tenant !== tenant)
              throw new NotFoundError('endpoint', endpointId);
            return endpoint;
          });
    return [...new Set(targets.map((t) => t.id))];
  }
}

/** Where `order` goes in `list` (oldest first, by `order`): the first place not before it. */
function place(list: readonly LiveEndpoint[], order: string): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (list[mid]!.order < order) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Takes `endpoint` (found by its `order`) out of `list`, when it is there. */
function removeFrom(list: LiveEndpoint[], endpoint: LiveEndpoint): void {
  const at = place(list, endpoint.order);
  if (list[at]?.id === endpoint.id) list.splice(at, 1);
}
