import { InvalidArgumentError } from './errors/input.js';
import { describe, isNonNegativeInteger, isPlainObject, unknownKey } from './validate.js';

export interface CloseOptions {
  /** How long in-flight attempts may take to finish before they are aborted, in ms. @default the attempt `timeout` */
  timeout?: number;
}

const CLOSE_KEYS = new Set(['timeout']);

/** `close(options)`'s `timeout`, checked; `undefined`: the attempt `timeout`. */
export function closeTimeout(options: unknown): number | undefined {
  const timeout: unknown = isPlainObject(options) ? options.timeout : undefined;
  if (
    !isPlainObject(options) ||
    unknownKey(options, CLOSE_KEYS) !== undefined ||
    (timeout !== undefined && !isNonNegativeInteger(timeout))
  ) {
    throw new InvalidArgumentError('options', `Expected \`{ timeout?: ms }\`, got ${describe(options)}`);
  }
  return timeout as number | undefined;
}
