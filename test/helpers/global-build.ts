import { ensureBuilt } from './build.js';

// A sender on a database file runs its delivery engine in a worker thread, which runs the built
// dist/worker.js even when the test imports the sender from src/: build once, before any test.
export default function setup(): void {
  ensureBuilt();
}
