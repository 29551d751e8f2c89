import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { tempDir } from './helpers/tmp.js';

const dirs: ReturnType<typeof tempDir>[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function fill(store: SqliteStore): void {
  store.db.exec('CREATE TABLE scratch (x BLOB)');
  const insert = store.db.prepare('INSERT INTO scratch (x) VALUES (randomblob(4000))');
  store.db.transaction(() => {
    for (let i = 0; i < 2_000; i++) insert.run();
  })();
}

describe('the checkpoint worker', () => {
  it('copies the WAL into the database file without running the checkpoint on this thread', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = dir.file();
    const store = new SqliteStore(file, 'hookline_');
    expect(store.checkpointer).not.toBeNull();
    fill(store);
    // wal_autocheckpoint is off on owned connections: the rows are still only in the WAL.
    const before = fs.statSync(file).size;
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(4_000_000);
    const pragma = vi.spyOn(store.db, 'pragma');
    store.checkpoint();
    await store.checkpointer!.idle();
    expect(pragma.mock.calls.filter(([sql]) => String(sql).includes('wal_checkpoint'))).toEqual([]);
    expect(fs.statSync(file).size).toBeGreaterThan(before + 4_000_000);
    pragma.mockRestore();
    await store.close();
    expect(store.db.open).toBe(false);
  });

  it('is not used for :memory: or for a connection the application owns', async () => {
    const memory = new SqliteStore(':memory:', 'hookline_');
    expect(memory.checkpointer).toBeNull();
    await memory.close();
  });

  it('falls back to checkpointing in-thread when the worker is gone', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = dir.file();
    const store = new SqliteStore(file, 'hookline_');
    await store.checkpointer!.close();
    fill(store);
    const before = fs.statSync(file).size;
    const pragma = vi.spyOn(store.db, 'pragma');
    store.checkpoint();
    expect(pragma.mock.calls.some(([sql]) => String(sql).includes('wal_checkpoint'))).toBe(true);
    expect(fs.statSync(file).size).toBeGreaterThan(before);
    pragma.mockRestore();
    await store.close();
  });
});
