/** A row of an endpoint's FIFO window: its active deliveries, oldest first. */
export interface FifoWindowRow {
  seq: number;
  status: 'pending' | 'sending';
  next_attempt_at: number | null;
  ordering_key: string | null;
}

/**
 * The oldest active row of each ordering key is its head; only a head that is
 * pending and due may go, and a head in flight blocks its key. Returns the
 * heads due now (oldest first, to claim in that order) and when the earliest
 * of the other pending heads is due (`null`: none).
 */
export function fifoHeads(
  window: readonly FifoWindowRow[],
  now: number,
): { ready: number[]; due: number | null } {
  const seen = new Set<string>();
  const ready: number[] = [];
  let due: number | null = null;
  for (const row of window) {
    const key = row.ordering_key ?? '';
    if (seen.has(key)) continue;
    seen.add(key);
    if (row.status !== 'pending' || row.next_attempt_at === null) continue;
    if (row.next_attempt_at <= now) ready.push(row.seq);
    else if (due === null || row.next_attempt_at < due) due = row.next_attempt_at;
  }
  return { ready, due };
}
