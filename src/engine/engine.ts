import { InvalidArgumentError } from '../shared/errors/input.js';
import { BlockedAddressError } from '../shared/errors/network.js';
import type { ResolvedOptions } from '../shared/options.js';
import type { SenderBus } from './bus.js';
import { type EngineControl, inlineEngine } from './control.js';
import { Dispatcher } from './dispatcher.js';
import { type AddressPolicy, createAddressPolicy, literalHostAddress } from './http/address-policy.js';
import { type Agents, createAgents } from './http/agents.js';
import { Transport } from './http/attempt.js';
import { guardedLookup } from './http/guarded-lookup.js';
import { newLeaseOwner } from './lease-owner.js';
import type { DispatchStore } from './store-port.js';
import type { AttemptTracer } from './trace-port.js';
/** The sender's address policy, and the check an endpoint URL gets when it is added. */
export interface UrlPolicy {
  policy: AddressPolicy;
  /** Refuses an endpoint URL whose host is a blocked IP literal, when it is added rather than at the first attempt. */
  checkUrl: (url: string) => void;
}

/**
 * Builds the address policy from the options. Call it before opening a store:
 * it throws `InvalidOptionError` on a malformed `allowedNetworks` entry.
 */
export function createUrlPolicy(o: ResolvedOptions): UrlPolicy {
  const policy = createAddressPolicy({
    allowPrivateNetworks: o.allowPrivateNetworks,
    allowedNetworks: o.allowedNetworks,
  });
  const checkUrl = (url: string) => {
    const host = new URL(url).hostname;
    const literal = literalHostAddress(host);
    const rule = literal === null ? null : policy.check(literal);
    if (rule !== null) {
      throw new InvalidArgumentError(
        'url',
        `${new BlockedAddressError(host, literal!, rule).message}; set \`allowPrivateNetworks\` or \`allowedNetworks\` to allow it`,
        'ERR_SSRF_BLOCKED',
      );
    }
  };
  return { policy, checkUrl };
}

/** What a sender needs from the delivery side, whichever store it uses. */
export interface DeliveryEngine {
  dispatcher: Dispatcher;
  /** The store the dispatcher claims from, and the lease owner it claims as. */
  dispatchStore: DispatchStore;
  owner: string;
  /** Destroyed on close: they hold the keep-alive sockets. */
  agents: Agents;
}

/**
 * Builds the HTTP agents and transport under `policy`, and the dispatcher over
 * the store's `DispatchStore` (made for this process's lease owner).
 */
export function createDeliveryEngine(
  o: ResolvedOptions,
  policy: AddressPolicy,
  dispatchStore: (owner: string) => DispatchStore,
  bus: Pick<SenderBus, 'listening' | 'notify'>,
  tracer?: AttemptTracer,
): DeliveryEngine {
  const agents = createAgents(guardedLookup(policy, o.lookup), o.concurrency);
  const transport = new Transport({
    timeout: o.timeout,
    connectTimeout: o.connectTimeout,
    responseBodyLimit: o.responseBodyLimit,
    agents,
    policy,
    now: () => o.clock.now(),
  });
  const owner = newLeaseOwner();
  const store = dispatchStore(owner);
  const dispatcher = new Dispatcher(
    store,
    transport,
    {
      concurrency: o.concurrency,
      timeout: o.timeout,
      pollInterval: o.pollInterval,
      retry: o.retry,
      clock: o.clock,
      owner,
      endpointConcurrency: o.endpointConcurrency,
      listening: bus.listening,
      tracer,
    },
    bus.notify,
  );
  return { dispatcher, agents, dispatchStore: store, owner };
}

/** The engine on this thread, behind the control a sender drives. */
export function createInlineEngine(
  o: ResolvedOptions,
  policy: AddressPolicy,
  dispatchStore: (owner: string) => DispatchStore,
  bus: Pick<SenderBus, 'listening' | 'notify'>,
  tracer?: AttemptTracer,
): EngineControl {
  const built = createDeliveryEngine(o, policy, dispatchStore, bus, tracer);
  return inlineEngine(built.dispatcher, built.agents);
}
