import type pg from 'pg';
import type { PgOutboxSql } from './outbox-sql.js';
export interface PgListenerContext {
  pool: pg.Pool;
  outbox: PgOutboxSql;
  /** How long to wait before listening again after a failure, in ms. */
  retryInterval: number;
  isClosed(): boolean;
  /** Another sender committed rows (or the connection is back): look for due rows now. */
  onDue(): void;
  report(error: unknown, message: string): void;
}

/**
 * LISTENs on a connection of its own: another sender's emit (on commit) wakes
 * this dispatcher at once. A lost connection is reported and replaced after
 * `retryInterval`; the dispatcher's poll covers the gap.
 */
export class PgListener {
  private client: pg.PoolClient | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly ctx: PgListenerContext) {}

  async listen(): Promise<void> {
    const { ctx } = this;
    if (ctx.isClosed()) return;
    let client: pg.PoolClient | undefined;
    try {
      client = await ctx.pool.connect();
      if (ctx.isClosed()) {
        client.release(true);
        return;
      }
      const listening = client;
      this.client = listening;
      // Waiting for a NOTIFY is never work the application asked to wait for: the held
      // connection must not keep the process alive (it is destroyed, not pooled, on stop).
      (listening as unknown as { unref?: () => void }).unref?.();
      listening.on('notification', (message) => {
        if (message.channel !== ctx.outbox.channel || ctx.isClosed()) return;
        ctx.onDue();
      });
      listening.on('error', (error) => {
        if (this.client !== listening) return;
        this.client = null;
        listening.release(error);
        ctx.report(error, 'The LISTEN connection failed; polling until it is back');
        this.relisten();
      });
      await ctx.outbox.listen(listening);
      // Anything committed while not listening is found now rather than at the next poll.
      ctx.onDue();
    } catch (error) {
      if (client !== undefined && this.client === client) {
        this.client = null;
        client.release(error as Error);
      }
      if (ctx.isClosed()) return;
      ctx.report(error, 'Cannot LISTEN for new events; polling until it works');
      this.relisten();
    }
  }

  private relisten(): void {
    if (this.ctx.isClosed() || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.listen();
    }, this.ctx.retryInterval);
    this.timer.unref();
  }

  /** Cancels a pending retry (call once closed). */
  stopRetrying(): void {
    if (this.timer !== null) clearTimeout(this.timer);
  }

  /** Gives the connection up. Destroyed, not returned: a pooled connection must not keep listening. */
  stop(): void {
    const client = this.client;
    this.client = null;
    client?.release(true);
  }
}
