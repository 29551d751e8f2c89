import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { BlockedAddressError } from '../../shared/errors/network.js';
import type { LookupFunction } from '../../shared/lookup.js';
import type { AddressPolicy } from './address-policy.js';

export type { LookupFunction };

function lookupError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** Reads a resolver's answer, whatever shape a custom resolver gave it, as a list. */
function toList(address: unknown, family: unknown): LookupAddress[] | null {
  if (typeof address === 'string') return [{ address, family: typeof family === 'number' ? family : 0 }];
  if (!Array.isArray(address)) return null;
  return address.map((entry) =>
    typeof entry === 'string'
      ? { address: entry, family: 0 }
      : { address: (entry as LookupAddress)?.address, family: (entry as LookupAddress)?.family },
  );
}

/**
 * Wraps a resolver so that every address it returns is checked before the
 * socket connects to it. The check runs inside the lookup the socket itself
 * uses: a separate check before the request would race DNS rebinding.
 *
 * The resolver is always asked for every address (`all: true`), and if any one
 * of them is refused the whole answer is: Node's happy-eyeballs connector
 * (`autoSelectFamily`) would otherwise try the next address, so a name that
 * resolves to a public and a private address must not get a connection.
 */
export function guardedLookup(
  policy: AddressPolicy,
  base: LookupFunction = dnsLookup as LookupFunction,
): LookupFunction {
  return (hostname, options, callback) => {
    let answered = false;
    let synchronous = true;
    const answer = (
      error: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => {
      if (answered) return;
      answered = true;
      // Node's resolver answers on a later tick, and sockets (and got's phase timers) rely on it: a custom
      // resolver that answers at once is deferred to the same shape.
      if (synchronous) setImmediate(callback, error, address, family);
      else callback(error, address, family);
    };
    const resolved = (error: NodeJS.ErrnoException | null, address: unknown, family?: unknown) => {
      if (error) return answer(error, []);
      const list = toList(address, family);
      if (list === null) {
        return answer(
          lookupError('ERR_INVALID_LOOKUP', `The lookup function gave no address list for ${hostname}`),
          [],
        );
      }
      if (list.length === 0) return answer(lookupError('ENOTFOUND', `getaddrinfo ENOTFOUND ${hostname}`), []);
      for (const entry of list) {
        const rule = policy.check(entry.address);
        if (rule !== null) {
          return answer(
            new BlockedAddressError(hostname, String(entry.address), rule) as NodeJS.ErrnoException,
            [],
          );
        }
      }
      const checked = list.map(({ address, family }) => ({
        address,
        family: family === 4 || family === 6 ? family : address.includes(':') ? 6 : 4,
      }));
      if ((options as LookupAllOptions).all) return answer(null, checked);
      const first = checked[0]!;
      answer(null, first.address, first.family);
    };
    try {
      base(hostname, { ...options, all: true }, resolved);
    } catch (error) {
      answer(error as NodeJS.ErrnoException, []);
    }
    synchronous = false;
  };
}
