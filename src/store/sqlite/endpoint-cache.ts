import { LiveEndpoints } from '../../engine/live-endpoints.js';
import type { EndpointSql } from './endpoint-sql.js';
/**
 * The enabled endpoints, kept in memory and reloaded whenever
 * `endpoints_version` moves: any process sharing the database bumps it when it
 * changes an endpoint, so one cheap read per use keeps every process current.
 */
export class EndpointCache extends LiveEndpoints {
  constructor(private readonly sql: EndpointSql) {
    super();
  }

  refresh(): void {
    const version = this.sql.version();
    if (version === this.version) return;
    this.replace(version, this.sql.listEnabled());
  }
}
