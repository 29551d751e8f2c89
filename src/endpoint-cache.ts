import { compilePatterns, type Matcher } from './match.js';
import { parseSecret } from './signing.js';
import type { EndpointSql } from './store/endpoint-sql.js';
import type { EndpointRow } from './store/rows.js';

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
  };
}

/**
 * The enabled endpoints, kept in memory and reloaded whenever
 * `endpoints_version` moves: any process sharing the database bumps it when it
 * changes an endpoint, so one cheap read per use keeps every process current.
 */
export class EndpointCache {
  private version = -1;
  private byId = new Map<string, LiveEndpoint>();
  private byTenant = new Map<string | null, LiveEndpoint[]>();
  private list: readonly LiveEndpoint[] = [];

  constructor(private readonly sql: EndpointSql) {}

  refresh(): void {
    const version = this.sql.version();
    if (version === this.version) return;
    const live = this.sql.listEnabled().map(toLive);
    this.byId = new Map(live.map((e) => [e.id, e]));
    this.list = live;
    this.byTenant = new Map();
    for (const endpoint of live) {
      const list = this.byTenant.get(endpoint.tenant);
      if (list) list.push(endpoint);
      else this.byTenant.set(endpoint.tenant, [endpoint]);
    }
    this.version = version;
  }

  /** The enabled endpoints, oldest first. */
  all(): readonly LiveEndpoint[] {
    return this.list;
  }

  get(id: string): LiveEndpoint | undefined {
    return this.byId.get(id);
  }

  /** Enabled endpoints of exactly this tenant (or of none) subscribed to `type`. */
  matching(type: string, tenant: string | null): LiveEndpoint[] {
    const candidates = this.byTenant.get(tenant);
    if (candidates === undefined) return [];
    return candidates.filter((endpoint) => endpoint.matches(type));
  }
}
