import { WebhookError } from './base.js';
/**
 * A resolved address the SSRF guard refused. Raised inside the socket's lookup,
 * so it ends that one attempt; its code is logged as the attempt's `errorCode`.
 */
export class BlockedAddressError extends WebhookError {
  override name = 'BlockedAddressError';
  declare readonly code: 'ERR_SSRF_BLOCKED';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly rule: string,
  ) {
    super(
      'ERR_SSRF_BLOCKED',
      `Refused to connect to ${address} (${rule}) for host ${host}: private and reserved addresses are blocked`,
    );
  }
}
