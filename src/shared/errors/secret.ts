import { WebhookError } from './base.js';
/**
 * A signing secret is not `whsec_` followed by standard base64 of 24 to 64 bytes.
 * The message says what is wrong (prefix, encoding, length) and never contains
 * the secret, so the error is safe to log.
 */
export class InvalidSecretError extends WebhookError {
  override name = 'InvalidSecretError';
  /** The argument or option that held the secret, for example `secret` or `secret[1]`. */
  readonly argument: string;

  constructor(argument: string, message: string) {
    super('ERR_INVALID_SECRET', message);
    this.argument = argument;
  }
}
