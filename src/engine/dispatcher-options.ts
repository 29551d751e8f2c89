import type { Clock } from '../shared/clock.js';
import type { RetryPolicy } from '../shared/retry.js';
import type { SenderEvents } from './notices.js';
import type { AttemptTracer } from './trace-port.js';

/** What a dispatcher is built with (see `Dispatcher`). */
export interface DispatcherOptions {
  concurrency: number;
  timeout: number;
  pollInterval: number;
  retry: RetryPolicy;
  clock: Clock;
  owner: string;
  endpointConcurrency: number;
  /** Whether anyone listens to a sender event. */
  listening: (name: keyof SenderEvents) => boolean;
  /** The application's tracing, when it records traces. */
  tracer?: AttemptTracer;
}
