// hookline with OpenTelemetry: the SDK's providers registered globally (what @opentelemetry/sdk-node
// does for you), console exporters, a receiver on localhost that continues the trace. hookline needs
// no option: it finds the global providers. Prints each span as it ends, then the metrics.
//
// Run it (in this repo, after `npm run build`; in your app, after `npm install hookline
// @opentelemetry/api @opentelemetry/sdk-trace-base @opentelemetry/sdk-metrics @opentelemetry/context-async-hooks`):
//
//   node examples/telemetry.mjs
import http from 'node:http';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { WebhookSender } from 'hookline';

// 1. OpenTelemetry, set up first.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())],
});
trace.setGlobalTracerProvider(tracerProvider);
const reader = new PeriodicExportingMetricReader({
  exporter: new ConsoleMetricExporter(),
  exportIntervalMillis: 60_000,
});
const meterProvider = new MeterProvider({ readers: [reader] });
metrics.setGlobalMeterProvider(meterProvider);

// 2. A receiver: the traceparent it gets names the attempt's span, so its own spans join the trace.
const receiver = http.createServer((req, res) => {
  console.log(`receiver: traceparent ${req.headers.traceparent}`);
  res.writeHead(200).end();
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));

// 3. The sender, as usual.
const sender = new WebhookSender({ database: ':memory:', allowPrivateNetworks: true });
sender.endpoints.add({ url: `http://127.0.0.1:${receiver.address().port}/webhooks?key=not-in-the-span` });
const tracer = trace.getTracer('shop');
await tracer.startActiveSpan('POST /orders', async (span) => {
  sender.emit('order.created', { id: 42 }); // a child span of this request
  span.end();
});
await sender.drain();

await reader.forceFlush();
await sender.close();
await tracerProvider.shutdown();
await meterProvider.shutdown();
receiver.close();
