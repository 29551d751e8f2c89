import { type LiveEndpoint, toLive } from '../endpoint-cache.js';
import type { PgEndpointSql } from '../store/postgres/endpoint-sql.js';

/**
 * The enabled endpoints in memory, reloaded when `endpoints_version` moves
 * (every change by any sender bumps it). Concurrent refreshes share reads.
 */
export class PgEndpointCache {
  private version = -1;
  private byId = new Map<string, LiveEndpoint>();
  private byTenant = new Map<string | null, LiveEndpoint[]>();
  private list: readonly LiveEndpoint[] = [];
  private refreshing: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly endpoints: PgEndpointSql) {}

  /**
   * Resolves once a read that began after this call is in. A read already
   * under way may have started before the caller's own change (an endpoint
   * just added): the caller then waits for the next one, which callers share.
   */
  refresh(): Promise<void> {
    if (this.refreshing === null) return this.start();
    // After the read under way, whether it worked or not: its failure is its own callers' to see.
    this.queued ??= this.refreshing
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.start();
      });
    return this.queued;
  }

  private start(): Promise<void> {
    const refreshing = this.load().finally(() => {
      this.refreshing = null;
    });
    this.refreshing = refreshing;
    return refreshing;
  }

  private async load(): Promise<void> {
    const version = await this.endpoints.version();
    if (version === this.version) return;
    const live = (await this.endpoints.listEnabled()).map(toLive);
    this.byId = new Map(live.map((e) => [e.id, e]));
    this.list = live;
    const byTenant = new Map<string | null, LiveEndpoint[]>();
    for (const endpoint of live) {
      const list = byTenant.get(endpoint.tenant);
      if (list) list.push(endpoint);
      else byTenant.set(endpoint.tenant, [endpoint]);
    }
    this.byTenant = byTenant;
    this.version = version;
  }

  all(): readonly LiveEndpoint[] {
    return this.list;
  }

  get(id: string): LiveEndpoint | undefined {
    return this.byId.get(id);
  }

  matching(type: string, tenant: string | null): LiveEndpoint[] {
    const candidates = this.byTenant.get(tenant);
    if (candidates === undefined) return [];
    return candidates.filter((endpoint) => endpoint.matches(type));
  }
}
