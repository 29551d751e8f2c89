import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
// The resolver a user may pass as `lookup`: a type only, so nothing here touches the network.

export type LookupCallback = (
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
