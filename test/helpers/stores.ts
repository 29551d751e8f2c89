import pg from 'pg';
import {
  type EmitItem,
  type EmitOptions,
  type EmittedEvent,
  type SenderEvents,
  type SenderOptions,
  WebhookSender,
} from '../../src/index.js';
import type { OperatorApi } from '../../src/operator/api.js';
import { PgWebhookSender } from '../../src/postgres.js';
import { ensureBuilt } from './build.js';
import { ManualClock } from './clock.js';
import { dropSchema, PG_URL, probePostgres, uniqueSchema } from './postgres.js';
import { type Receiver, type Responder, startReceiver } from './receiver.js';
import { tempDir } from './tmp.js';

// The two stores behind one interface, for test/shared-behaviour.test.ts.

const DAY = 24 * 60 * 60 * 1000;

type Maybe<T> = T | Promise<T>;

/** The API of both senders, each method as either store returns it: the operator tools' and more. */
export interface Sender extends Omit<OperatorApi, 'close'> {
  emit(type: string, payload: unknown, options?: EmitOptions): Maybe<EmittedEvent>;
  emitMany(events: EmitItem[]): Maybe<EmittedEvent[]>;
  start(): Maybe<void>;
  drain(): Promise<void>;
  close(options?: { timeout?: number }): Promise<void>;
  on<K extends keyof SenderEvents>(name: K, listener: (...args: SenderEvents[K]) => void): unknown;
}

/** The options both senders take. */
export type SharedOptions = Omit<SenderOptions, 'database' | 'tablePrefix'>;

/** One store under test. */
export interface StoreFactory {
  /** Shown as the suite's name; says why when the store is unreachable and the suite is skipped. */
  name: string;
  available: boolean;
  /** A sender on this store, ready to use (schema migrated). */
  create(options: SharedOptions): Promise<Sender>;
  /** After each test, once its senders are closed: the next test starts from an empty outbox. */
  cleanup(): Promise<void>;
  /** After the suite. */
  dispose(): Promise<void>;
}

export function sqliteStore(): StoreFactory {
  return {
    name: 'SQLite (:memory:)',
    available: true,
    create: async (options) => new WebhookSender({ database: ':memory:', ...options }),
    cleanup: async () => {},
    dispose: async () => {},
  };
}

/**
 * SQLite files with `engine: 'worker'`: the delivery engine in a worker thread, which runs the
 * built dist/worker.js. A worker engine runs on the system clock: behaviours that need a
 * ManualClock cannot run on it (`clocked` refuses).
 */
export function sqliteWorkerStore(): StoreFactory {
  const tmp = tempDir();
  let n = 0;
  return {
    name: "SQLite file, engine: 'worker'",
    available: true,
    async create(options) {
      ensureBuilt();
      return new WebhookSender({ database: tmp.file(`worker-${n++}.db`), engine: 'worker', ...options });
    },
    cleanup: async () => {},
    dispose: async () => tmp.cleanup(),
  };
}

const probe = await probePostgres();

export function postgresStore(): StoreFactory {
  const schema = uniqueSchema('shared');
  const tables = [
    'endpoints',
    'events',
    'deliveries',
    'attempts',
    'activity',
    'endpoint_health',
    'endpoint_minutes',
    'fanout',
  ];
  let pool: pg.Pool | undefined;
  let migrated = false;
  return {
    name: `PostgreSQL (${probe.available ? `schema ${schema} at ${PG_URL}` : probe.reason})`,
    available: probe.available,
    async create(options) {
      pool ??= new pg.Pool({ connectionString: PG_URL, max: 10 });
      const sender = new PgWebhookSender({ pool, schema, ...options });
      await sender.ready;
      migrated = true;
      return sender;
    },
    async cleanup() {
      if (pool === undefined || !migrated) return;
      await pool.query(`TRUNCATE ${tables.map((t) => `"${schema}".${t}`).join(', ')} RESTART IDENTITY`);
    },
    async dispose() {
      await pool?.end();
      if (migrated) await dropSchema(schema);
    },
  };
}

export interface Kit {
  sender(options?: SharedOptions): Promise<Sender>;
  /** A sender on a ManualClock whose poll never comes: only emits, results and due timers move it. */
  clocked(options?: SharedOptions): Promise<{ sender: Sender; clock: ManualClock }>;
  receiver(responder?: Responder): Promise<Receiver>;
}

export function kit(store: StoreFactory): Kit & { cleanup(): Promise<void> } {
  let senders: Sender[] = [];
  let receivers: Receiver[] = [];
  const k = {
    async sender(options: SharedOptions = {}) {
      const sender = await store.create({ allowPrivateNetworks: true, ...options });
      senders.push(sender);
      return sender;
    },
    async clocked(options: SharedOptions = {}) {
      if (store.name.includes("engine: 'worker'"))
        throw new Error('a worker engine runs on the system clock');
      const clock = new ManualClock();
      const sender = await k.sender({ clock, pollInterval: DAY, ...options });
      return { sender, clock };
    },
    async receiver(responder?: Responder) {
      const receiver = await startReceiver(responder);
      receivers.push(receiver);
      return receiver;
    },
    async cleanup() {
      await Promise.all(senders.map((s) => s.close({ timeout: 0 })));
      await Promise.all(receivers.map((r) => r.close()));
      senders = [];
      receivers = [];
      await store.cleanup();
    },
  };
  return k;
}
