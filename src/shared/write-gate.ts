/** How long, at most, an emit waits at a gate shut for a write transaction before SQLite's own busy handling takes over, in ms. */
export const GATE_WAIT_MS = 100;
/** How long, at most, the worker lets announced emits write first before it takes the lock itself, in ms. */
export const YIELD_MAX_MS = 2;

/** The cells of the shared memory: the gate, and the emits about to write or writing. */
const SHUT = 0;
const ANNOUNCED = 1;

/**
 * A flag the application's thread and the engine's worker share around the database file's write lock.
 * The worker shuts it for each of its write transactions and opens it after, waking whoever waits; an
 * emit that finds it shut waits exactly that long. Without it the emit would meet SQLITE_BUSY and
 * SQLite's busy handler, which sleeps 1, 2, 5, 10 ms… between tries: a 1.2 ms transaction could cost
 * the emit 3 ms, a 4 ms one 8 ms. The flag is advisory: SQLite's lock stays what keeps writes apart.
 *
 * The lock is handed over fairly: an emit announces itself before it looks at the gate, and the
 * worker, having shut the gate, lets announced emits write first (for up to YIELD_MAX_MS). Otherwise
 * an emit that found the gate open could still meet the worker's next transaction in SQLite, and sleep.
 *
 * The shut gate holds the longest an emit waits at it, in ms: a write transaction holds SQLite's lock
 * (an emit that stopped waiting would only meet it), a catch-up checkpoint does not (see
 * `SqliteStore.finishCheckpoint`): an emit that stops waiting for it writes, and the checkpoint tries
 * again later.
 */
export class WriteGate {
  readonly #cells: Int32Array;
  #depth = 0;

  /** @param yieldMs How long, at most, `hold` lets announced emits write first (YIELD_MAX_MS). */
  constructor(
    readonly buffer = new SharedArrayBuffer(8),
    private readonly yieldMs = YIELD_MAX_MS,
  ) {
    this.#cells = new Int32Array(buffer);
  }

  /** The worker's side: runs `write` with the gate shut; an emit waits at most `waitMs` for it. */
  hold<T>(write: () => T, waitMs = GATE_WAIT_MS): T {
    if (this.#depth++ === 0) this.#shut(Math.max(1, Math.round(waitMs)));
    try {
      return write();
    } finally {
      if (--this.#depth === 0) this.open();
    }
  }

  /**
   * The application's side: announces a write, waits while the gate is shut (at most what its holder
   * allows, or `maxMs`), runs `write` and withdraws the announcement, waking a worker that waits for it.
   */
  through<T>(write: () => T, maxMs?: number): T {
    const cells = this.#cells;
    Atomics.add(cells, ANNOUNCED, 1);
    try {
      const shut = Atomics.load(cells, SHUT);
      if (shut !== 0) Atomics.wait(cells, SHUT, shut, maxMs ?? shut);
      return write();
    } finally {
      Atomics.sub(cells, ANNOUNCED, 1);
      Atomics.notify(cells, ANNOUNCED);
    }
  }

  /** Opens the gate and wakes every waiter (also after its holder died mid-write). */
  open(): void {
    Atomics.store(this.#cells, SHUT, 0);
    Atomics.notify(this.#cells, SHUT);
  }

  /**
   * Shuts the gate once no emit is announced, or after `yieldMs`. The gate is shut before the
   * announcements are read, and an emit announces itself before it reads the gate (both sequentially
   * consistent): either this sees the emit, or the emit sees the gate shut.
   */
  #shut(waitMs: number): void {
    const cells = this.#cells;
    const deadline = performance.now() + this.yieldMs;
    for (;;) {
      Atomics.store(cells, SHUT, waitMs);
      const announced = Atomics.load(cells, ANNOUNCED);
      if (announced === 0) return;
      const left = deadline - performance.now();
      if (left <= 0) return;
      this.open();
      Atomics.wait(cells, ANNOUNCED, announced, left);
    }
  }
}
