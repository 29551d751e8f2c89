import { type ContextManager, context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  type Histogram,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** Collects on demand: the test reads the metrics when it wants them. */
class ManualReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

let manager: ContextManager | null = null;

/**
 * The real OpenTelemetry SDK with in-memory exporters, passed to a sender through `telemetry`.
 * The context manager is global (emit reads the caller's active context): registered once.
 */
export function otelKit() {
  if (manager === null) {
    manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
  }
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new ManualReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider,
    meterProvider,
    spans: (): ReadableSpan[] => exporter.getFinishedSpans(),
    /** Every data point of the metric `name`, as `[attributes, value]`. */
    async metric(name: string): Promise<[Record<string, unknown>, unknown][]> {
      const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
      const points: [Record<string, unknown>, unknown][] = [];
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          if (metric.descriptor.name !== name) continue;
          for (const point of metric.dataPoints) {
            const value = point.value as number | Histogram;
            points.push([
              point.attributes,
              typeof value === 'number' ? value : { count: value.count, sum: value.sum },
            ]);
          }
        }
      }
      return points;
    },
    /** The unit and description of the metric `name`. */
    async descriptor(name: string) {
      const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) if (metric.descriptor.name === name) return metric.descriptor;
      }
      return undefined;
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}
