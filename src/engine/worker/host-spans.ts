import type { AttemptSpan, AttemptSpanEnd, AttemptSpanStart, AttemptTracer } from '../trace-port.js';
import type { ToWorker } from './protocol.js';

/**
 * The attempt spans of a worker engine, recorded on the application's thread, into its providers:
 * the worker asks before each request (the answer carries the traceparent to send) and reports the
 * outcome after. A span the worker never ended (it crashed) ends as an error when it stops.
 */
export class HostSpans {
  readonly #open = new Map<number, AttemptSpan>();

  constructor(
    private readonly tracer: AttemptTracer,
    private readonly post: (message: ToWorker) => void,
  ) {}

  async start(id: number, start: AttemptSpanStart): Promise<void> {
    let headers: Record<string, string> = {};
    try {
      const span = await this.tracer.start(start);
      if (span !== null) {
        this.#open.set(id, span);
        headers = span.headers;
      }
    } catch {
      // No span: the attempt goes without one (a tracer reports its own failures).
    } finally {
      this.post({ t: 'span', id, headers });
    }
  }

  end(id: number, outcome: AttemptSpanEnd): void {
    this.#open.get(id)?.end(outcome);
    this.#open.delete(id);
  }

  /** The worker stopped: its open spans end, their outcome unknown. */
  abandon(): void {
    for (const span of this.#open.values()) {
      span.end({ statusCode: null, errorCode: 'ERR_DISPATCH', errorMessage: 'the worker thread stopped' });
    }
    this.#open.clear();
  }
}
