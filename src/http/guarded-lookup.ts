import {
  lookup as dnsLookup,
  type LookupAddress,
  type LookupAllOptions,
  type LookupOneOptions,
} from 'node:dns';
import type { AddressPolicy } from './address-policy.js';

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** The shape of `dns.lookup` that sockets call. */
export type LookupFunction = (
  hostname: string,
  options: LookupOneOptions | LookupAllOptions,
  callback: LookupCallback,
) => void;

/** The error a refused address produces; its code is logged on the attempt. */
export class BlockedAddressError extends Error {
  override name = 'BlockedAddressError';
  readonly code = 'ERR_SSRF_BLOCKED';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly rule: string,
  ) {
    super(
      `Refused to connect to ${address} (${rule}) for host ${host}: private and reserved addresses are blocked`,
    );
  }
}

/**
 * Wraps a resolver so that every address it returns is checked before the
 * socket connects to it. The check runs inside the lookup the socket itself
 * uses: a separate check before the request would race DNS rebinding.
 */
export function guardedLookup(
  policy: AddressPolicy,
  base: LookupFunction = dnsLookup as LookupFunction,
): LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses as LookupAddress[];
      if (list.length === 0) {
        const empty = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
        return callback(empty, []);
      }
      for (const entry of list) {
        const rule = policy.check(entry.address);
        if (rule !== null)
          return callback(
            new BlockedAddressError(hostname, entry.address, rule) as NodeJS.ErrnoException,
            [],
          );
      }
      if ((options as LookupAllOptions).all) return callback(null, list);
      const first = list[0]!;
      callback(null, first.address, first.family);
    });
  };
}
