/** Renders a bad value for an error message: "`-1` (number)". Never used for secrets. */
export function describe(value: unknown): string {
  let shown: string;
  if (typeof value === 'string')
    shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  else if (typeof value === 'bigint') shown = `${value}n`;
  else if (typeof value === 'function') shown = '[function]';
  else if (Array.isArray(value)) shown = '[array]';
  else if (value !== null && typeof value === 'object') shown = `[${value.constructor?.name ?? 'object'}]`;
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
