import { WebhookVerificationError } from '../shared/errors/verification.js';
// Reading the three signature headers from a `Headers` or a Node headers object.

/** A `Headers` instance or a plain object such as Node's `IncomingMessage.headers`. */
export type WebhookHeadersInput = Headers | Record<string, string | string[] | undefined>;

interface SignatureHeaders {
  id: string;
  timestamp: string;
  signature: string;
}

export function readSignatureHeaders(headers: WebhookHeadersInput): SignatureHeaders {
  const get = headerReader(headers);
  const standard = {
    id: get('webhook-id'),
    timestamp: get('webhook-timestamp'),
    signature: get('webhook-signature'),
  };
  const svix = { id: get('svix-id'), timestamp: get('svix-timestamp'), signature: get('svix-signature') };
  const none = (set: Record<string, string | undefined>) => Object.values(set).every((v) => v === undefined);
  // Svix names are only a fallback for a request that has no Standard Webhooks
  // header at all, so one request is never read from two different sets.
  const useSvix = none(standard) && !none(svix);
  const prefix = useSvix ? 'svix' : 'webhook';
  const values = useSvix ? svix : standard;
  for (const name of ['id', 'timestamp', 'signature'] as const) {
    const value = values[name];
    if (value === undefined || value.trim() === '') {
      // With no signature header of either set, name the standard one (what hookline sends).
      const fallback = !useSvix && none(standard) ? ` (nor is there a \`svix-${name}\` header)` : '';
      throw new WebhookVerificationError(
        'ERR_VERIFY_MISSING_HEADER',
        `The \`${prefix}-${name}\` header is missing${fallback}`,
      );
    }
  }
  return {
    id: values.id!,
    timestamp: values.timestamp!.trim(),
    signature: values.signature!.trim(),
  };
}

function headerReader(headers: WebhookHeadersInput): (name: string) => string | undefined {
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') {
    const fetchHeaders = headers as Headers;
    return (name) => fetchHeaders.get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  return (name) => {
    let value = Object.hasOwn(record, name) ? record[name] : undefined;
    if (value === undefined) {
      const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === name);
      if (key !== undefined) value = record[key];
    }
    if (Array.isArray(value)) {
      // A repeated signature header carries more candidates; a repeated id or
      // timestamp is signed content, so whichever is read, a forgery still fails.
      return name.endsWith('-signature') ? value.join(' ') : value[0];
    }
    return typeof value === 'string' ? value : undefined;
  };
}
