import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from './errors/input.js';
import { InvalidSecretError } from './errors/secret.js';
import { describeType } from './validate.js';

// Signing secrets: the `whsec_` format Standard Webhooks and Svix use, and its strict decoder.

const SECRET_PREFIX = 'whsec_';
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
const GENERATED_SECRET_BYTES = 32;
const STANDARD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Creates a new signing secret: `whsec_` followed by the standard base64 of 32
 * random bytes, the format Standard Webhooks and Svix use.
 */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(GENERATED_SECRET_BYTES).toString('base64');
}

/**
 * Decodes a `whsec_` secret into the HMAC key bytes.
 *
 * Accepts only `whsec_` + canonical standard base64 (padding included) of 24 to
 * 64 bytes; base64url, whitespace and other junk are refused rather than
 * silently skipped, because a lenient decoder would sign with a different key
 * than the receiver's.
 *
 * @param secret The secret, for example from `generateSecret()`.
 * @param argument Name used in the error message, default `secret`.
 * @returns The key bytes.
 * @throws InvalidSecretError (`ERR_INVALID_SECRET`); its message never contains the secret.
 */
export function parseSecret(secret: string, argument = 'secret'): Buffer {
  if (typeof secret !== 'string') {
    throw new InvalidSecretError(argument, `\`${argument}\` must be a string, got ${describeType(secret)}`);
  }
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new InvalidSecretError(argument, `\`${argument}\` must start with \`${SECRET_PREFIX}\``);
  }
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (encoded.length === 0) {
    throw new InvalidSecretError(argument, `\`${argument}\` has nothing after \`${SECRET_PREFIX}\``);
  }
  if (!STANDARD_BASE64.test(encoded)) {
    throw new InvalidSecretError(
      argument,
      `\`${argument}\` is not standard base64 after \`${SECRET_PREFIX}\`: ${describeBadBase64(encoded)}`,
    );
  }
  const key = Buffer.from(encoded, 'base64');
  // Buffer.from() accepts missing padding and stray trailing bits; only the
  // canonical form is guaranteed to decode the same way everywhere.
  if (key.toString('base64') !== encoded) {
    throw new InvalidSecretError(
      argument,
      `\`${argument}\` is not canonical base64 after \`${SECRET_PREFIX}\` (wrong length or padding)`,
    );
  }
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new InvalidSecretError(
      argument,
      `\`${argument}\` decodes to ${key.length} bytes; a secret must be ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`,
    );
  }
  return key;
}

/** One secret, or several while rotating: every key, in the order given. */
export function parseSecrets(secret: string | string[]): Buffer[] {
  if (Array.isArray(secret)) {
    if (secret.length === 0) {
      throw new InvalidArgumentError(
        'secret',
        '`secret` must be a secret string or a non-empty array of them',
      );
    }
    return secret.map((one, index) => parseSecret(one, `secret[${index}]`));
  }
  return [parseSecret(secret)];
}

function describeBadBase64(encoded: string): string {
  if (/\s/.test(encoded)) return 'it contains whitespace';
  if (/[-_]/.test(encoded)) return 'it uses base64url characters (- or _)';
  if (/=[^=]/.test(encoded)) return 'padding (=) appears before the end';
  return 'it contains characters outside A-Z a-z 0-9 + / =';
}
