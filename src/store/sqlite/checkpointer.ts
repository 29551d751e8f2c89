import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// Runs in the worker: its own connection to the same file, checkpointing on request.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
parentPort.on('message', () => {
  let error = null;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (e) {
    error = String(e && e.message);
  }
  parentPort.postMessage(error);
});
`;

/**
 * Checkpoints an owned WAL file from a worker thread. A checkpoint copies
 * pages and syncs the database file: on the event loop it was measured
 * stalling the application for 27–106 ms. The worker has its own connection,
 * so none of that runs on the application's thread. If the worker cannot
 * start, `request` answers false and the caller checkpoints itself.
 */
export class Checkpointer {
  private readonly worker: Worker | null;
  private running = false;
  private failed = false;
  private waiters: (() => void)[] = [];

  /** @param done Called on this thread after each checkpoint the worker ran. */
  constructor(
    file: string,
    private readonly done: () => void = () => {},
  ) {
    let worker: Worker | null = null;
    try {
      const driver = createRequire(import.meta.url).resolve('better-sqlite3');
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver } });
      worker.on('message', () => {
        this.settle();
        this.done();
      });
      worker.on('error', () => {
        this.failed = true;
        this.settle();
      });
      worker.on('exit', () => {
        this.failed = true;
        this.settle();
      });
      // After the listeners: adding a 'message' listener refs the worker's port again, and a
      // checkpoint is never work the application asked to wait for, so it must not keep it alive.
      worker.unref();
    } catch {
      this.failed = true;
    }
    this.worker = worker;
  }

  /** Asks for a checkpoint; one at a time. False when the worker is not there: checkpoint in-thread. */
  request(): boolean {
    if (this.failed || this.worker === null) return false;
    if (!this.running) {
      this.running = true;
      this.worker.postMessage('checkpoint');
    }
    return true;
  }

  /** Resolves when no checkpoint is running. */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.idle();
    this.failed = true;
    await this.worker?.terminate();
  }

  private settle(): void {
    this.running = false;
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
