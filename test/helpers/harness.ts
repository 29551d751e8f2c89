import type http from 'node:http';
import { type SenderOptions, WebhookSender } from '../../src/index.js';
import { cleanupAfterEach } from './cleanups.js';
import { ManualClock } from './clock.js';
import { type ReceivedRequest, type Receiver, type Responder, startReceiver } from './receiver.js';
/** What a request carried: the payload the test emitted (`data` of the webhook body). */
export function payloadOf<T = Record<string, unknown>>(request: ReceivedRequest): T {
  return (JSON.parse(request.body) as { data: T }).data;
}

/** Only for asserting that nothing (more) happens: gives the dispatcher many turns. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects if `promise` takes longer than `ms` (a generous bound, not a timing assertion). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A receiver that keeps every response open until the test answers it, counting what is in flight. */
export interface HoldingReceiver {
  receiver: Receiver;
  url: string;
  /** Requests received and not answered yet, oldest first. */
  held: { request: ReceivedRequest; res: http.ServerResponse }[];
  /** The most requests it held at once. */
  readonly max: number;
  /** Answers every held request with `status`. */
  release(status?: number): void;
  /** From now on, answer at once with `status` instead of holding. */
  answer(status: number): void;
}

/**
 * Per-file set-up: senders on `:memory:` allowed to reach 127.0.0.1, real
 * receivers, and everything closed after each test (with the file's own
 * `cleanups`, when given, so that its other clean-ups keep their order).
 */
export function harness(cleanups: (() => unknown)[] = cleanupAfterEach()) {
  const h = {
    defer(fn: () => unknown): void {
      cleanups.push(fn);
    },

    sender(options: SenderOptions = {}): WebhookSender {
      const s = new WebhookSender({ database: ':memory:', allowPrivateNetworks: true, ...options });
      cleanups.push(() => s.close({ timeout: 0 }));
      return s;
    },

    /**
     * A sender on a ManualClock whose poll never comes: only emits, finished
     * attempts and the due timers move the dispatcher.
     */
    clocked(options: SenderOptions = {}): { sender: WebhookSender; clock: ManualClock } {
      const clock = new ManualClock();
      const sender = h.sender({ clock, pollInterval: 24 * 60 * 60 * 1000, ...options });
      return { sender, clock };
    },

    async receiver(responder?: Responder): Promise<Receiver> {
      const r = await startReceiver(responder);
      cleanups.push(() => r.close());
      return r;
    },

    async holding(): Promise<HoldingReceiver> {
      let current = 0;
      let max = 0;
      let status: number | null = null;
      const held: HoldingReceiver['held'] = [];
      const receiver = await h.receiver((request, res) => {
        if (status !== null) {
          res.writeHead(status).end();
          return;
        }
        current++;
        max = Math.max(max, current);
        res.on('close', () => current--);
        held.push({ request, res });
      });
      return {
        receiver,
        url: receiver.url,
        held,
        get max() {
          return max;
        },
        release(code = 200) {
          for (const { res } of held.splice(0)) res.writeHead(code).end();
        },
        answer(code) {
          status = code;
        },
      };
    },
  };
  return h;
}
