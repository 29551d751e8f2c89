import { InvalidArgumentError } from '../shared/errors/input.js';
import { describe, isNonNegativeInteger, isPlainObject, unknownKey } from '../shared/validate.js';
export interface CloseOptions {
  /** How long in-flight attempts may take to finish before they are aborted, in ms. @default the attempt `timeout` */
  timeout?: number;
}

const CLOSE_KEYS = new Set(['timeout']);

/** `close(options)`'s `timeout`, checked; `undefined`: the attempt `timeout`. */
export function closeTimeout(options: unknown): number | undefined {
  if (!isPlainObject(options)) {
    throw new InvalidArgumentError('options', `Expected \`{ timeout?: ms }\`, got ${describe(options)}`);
  }
  const extra = unknownKey(options, CLOSE_KEYS);
  if (extra !== undefined) {
    throw new InvalidArgumentError(
      extra,
      `Unknown option \`${extra}\` of close(); the only one is \`timeout\``,
      'ERR_UNKNOWN_OPTION',
    );
  }
  const { timeout } = options;
  if (timeout !== undefined && !isNonNegativeInteger(timeout)) {
    throw new InvalidArgumentError(
      'timeout',
      `Expected \`timeout\` to be a whole number of ms >= 0, got ${describe(timeout)}`,
    );
  }
  return timeout;
}
