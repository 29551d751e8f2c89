/**
 * Event-type patterns. A pattern is an exact type (`order.created`), `*` (every
 * type), or dot-separated segments where `*` stands for exactly one segment
 * (`order.*.shipped`); a trailing `.*` matches one or more segments, so
 * `order.*` matches `order.created` and `order.item.added`.
 */
const PATTERN = /^(\*|[A-Za-z0-9_:/-]+)(\.(\*|[A-Za-z0-9_:/-]+))*$/;

export function isValidPattern(pattern: string): boolean {
  return pattern.length > 0 && pattern.length <= 255 && PATTERN.test(pattern);
}

export type Matcher = (type: string) => boolean;

function escapeRegExp(segment: string): string {
  return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function compilePattern(pattern: string): Matcher {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*')) return (type) => type === pattern;
  const segments = pattern.split('.');
  const last = segments.length - 1;
  const source = segments
    .map((segment, i) => {
      if (segment !== '*') return escapeRegExp(segment);
      return i === last ? '[^.]+(?:\\.[^.]+)*' : '[^.]+';
    })
    .join('\\.');
  const regex = new RegExp(`^${source}$`);
  return (type) => regex.test(type);
}

/** One matcher for a list of patterns; an empty list matches nothing. */
export function compilePatterns(patterns: readonly string[]): Matcher {
  if (patterns.includes('*')) return () => true;
  const exact = new Set(patterns.filter((p) => !p.includes('*')));
  const wild = patterns.filter((p) => p.includes('*')).map(compilePattern);
  if (wild.length === 0) return (type) => exact.has(type);
  return (type) => exact.has(type) || wild.some((m) => m(type));
}
