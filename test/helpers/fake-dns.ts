import type { LookupAddress } from 'node:dns';
import type { SenderOptions } from '../../src/index.js';

type Lookup = NonNullable<SenderOptions['lookup']>;

/** What a fake name resolves to: addresses, or an error such as ENOTFOUND. */
export type FakeAnswer = string | readonly string[] | NodeJS.ErrnoException;

export interface FakeLookup {
  /** Pass as the sender's `lookup` option. */
  lookup: Lookup;
  /** Every call, in order: what the socket asked for. */
  calls: { hostname: string; options: { all?: boolean; family?: number } }[];
}

export function dnsError(code: string, hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ${code} ${hostname}`), {
    code,
    hostname,
    syscall: 'getaddrinfo',
  });
}

/**
 * A resolver that answers from a table and never touches the network. A
 * function entry is called with the 1-based number of the lookup of that name
 * (for rebinding). Unknown names give ENOTFOUND. Answers come on a later tick,
 * as with dns.lookup.
 */
export function fakeLookup(table: Record<string, FakeAnswer | ((call: number) => FakeAnswer)>): FakeLookup {
  const calls: FakeLookup['calls'] = [];
  const counts = new Map<string, number>();
  const lookup = ((hostname: string, options: { all?: boolean; family?: number }, callback: Function) => {
    calls.push({ hostname, options: { ...options } });
    const n = (counts.get(hostname) ?? 0) + 1;
    counts.set(hostname, n);
    const entry = Object.hasOwn(table, hostname) ? table[hostname]! : dnsError('ENOTFOUND', hostname);
    const answer = typeof entry === 'function' ? entry(n) : entry;
    setImmediate(() => {
      if (answer instanceof Error) return callback(answer);
      const list: LookupAddress[] = (typeof answer === 'string' ? [answer] : [...answer]).map((address) => ({
        address,
        family: address.includes(':') ? 6 : 4,
      }));
      if (options.all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  }) as unknown as Lookup;
  return { lookup, calls };
}
