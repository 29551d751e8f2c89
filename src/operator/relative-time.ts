const UNITS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/** A moment relative to `now`, as the operator tools show it: `3m ago`, `in 2h`, `now`. */
export function relativeTime(ms: number, now: number): string {
  const delta = ms - now;
  const size = Math.abs(delta);
  if (size < 1_000) return 'now';
  const [unit, length] = UNITS.find(([, length]) => size >= length)!;
  const amount = `${Math.floor(size / length)}${unit}`;
  return delta < 0 ? `${amount} ago` : `in ${amount}`;
}
