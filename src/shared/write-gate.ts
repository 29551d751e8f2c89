/** How long, at most, an emit waits at a shut gate before SQLite's own busy handling takes over, in ms. */
export const GATE_WAIT_MS = 100;

/**
 * A flag the application's thread and the engine's worker share around the database file's write lock.
 * The worker shuts it for each of its write transactions and opens it after, waking whoever waits; an
 * emit that finds it shut waits exactly that long. Without it the emit would meet SQLITE_BUSY and
 * SQLite's busy handler, which sleeps 1, 2, 5, 10 ms… between tries: a 1.2 ms transaction could cost
 * the emit 3 ms, a 4 ms one 8 ms. The flag is advisory: SQLite's lock stays what keeps writes apart.
 */
export class WriteGate {
  readonly #cell: Int32Array;
  #depth = 0;

  constructor(readonly buffer = new SharedArrayBuffer(4)) {
    this.#cell = new Int32Array(buffer);
  }

  /** Runs `write` (a write transaction) with the gate shut. */
  hold<T>(write: () => T): T {
    if (this.#depth++ === 0) Atomics.store(this.#cell, 0, 1);
    try {
      return write();
    } finally {
      if (--this.#depth === 0) this.open();
    }
  }

  /** Returns once the gate is open, or after `maxMs`. */
  pass(maxMs = GATE_WAIT_MS): void {
    if (Atomics.load(this.#cell, 0) === 1) Atomics.wait(this.#cell, 0, 1, maxMs);
  }

  /** Opens the gate and wakes every waiter (also after its holder died mid-write). */
  open(): void {
    Atomics.store(this.#cell, 0, 0);
    Atomics.notify(this.#cell, 0);
  }
}
