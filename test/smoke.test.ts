import { afterEach, describe, expect, it } from 'vitest';
import { WebhookSender } from '../src/index.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';

let receiver: Receiver;
let sender: WebhookSender;
afterEach(async () => {
  await sender?.close();
  await receiver?.close();
});

describe('smoke', () => {
  it('delivers one event', async () => {
    receiver = await startReceiver();
    sender = new WebhookSender({ database: ':memory:', allowPrivateNetworks: true });
    sender.endpoints.add({ url: receiver.url });
    const ev = sender.emit('order.created', { id: 1 });
    expect(ev.deliveries).toBe(1);
    await sender.drain();
    expect(receiver.requests).toHaveLength(1);
    const page = sender.deliveries.list();
    expect(page.items[0]?.status).toBe('succeeded');
  });
});
