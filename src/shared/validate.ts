const MAX_SHOWN = 60;

const cut = (text: string): string => (text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text);

const isPrimitive = (v: unknown): boolean =>
  v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/**
 * Renders a bad value for an error message: "`-1` (number)", "`[\"order.**\"]` (array)",
 * "`{ now, setTimeout }` (object)". Strings, numbers and arrays of them are shown; of an
 * object only its keys, since its values may be credentials (a pool config's password).
 * Never used for secrets.
 */
export function describe(value: unknown): string {
  let shown: string;
  if (typeof value === 'string') shown = JSON.stringify(cut(value));
  else if (typeof value === 'bigint') shown = `${value}n`;
  else if (typeof value === 'function') shown = '[function]';
  else if (Array.isArray(value)) shown = value.every(isPrimitive) ? cut(JSON.stringify(value)) : '[array]';
  else if (isPlainObject(value)) {
    const keys = Object.keys(value);
    shown = keys.length === 0 ? '{}' : cut(`{ ${keys.join(', ')} }`);
  } else if (value !== null && typeof value === 'object') shown = `[${value.constructor?.name ?? 'object'}]`;
  else shown = String(value);
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${shown}\` (${type})`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Returns the first key of `value` that is not in `known`, if any. */
export function unknownKey(value: Record<string, unknown>, known: ReadonlySet<string>): string | undefined {
  for (const key of Object.keys(value)) if (!known.has(key)) return key;
  return undefined;
}

export const isPositiveInteger = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
export const isNonNegativeInteger = (v: unknown): v is number =>
  Number.isSafeInteger(v) && (v as number) >= 0;
export const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The kind of a value (`null`, `an array`, `string`…), never the value itself: safe for secrets. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
