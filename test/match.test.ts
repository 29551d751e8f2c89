import { describe, expect, it } from 'vitest';
import { compilePattern, compilePatterns, isValidPattern } from '../src/shared/match.js';

describe('isValidPattern', () => {
  it.each([
    'order.created',
    'order',
    '*',
    'order.*',
    'a.*.c',
    '*.created',
    '*.*',
    'v1/order:created_now-ish.x',
    'a'.repeat(255),
  ])('accepts %s', (pattern) => {
    expect(isValidPattern(pattern)).toBe(true);
  });

  it.each([
    '',
    '.',
    'order.',
    '.order',
    'order..created',
    'ord*',
    'order.*x',
    'order.**',
    '**',
    'order created',
    'order.created ',
    'a'.repeat(256),
    'order.?',
    'order.[a]',
  ])('refuses %j', (pattern) => {
    expect(isValidPattern(pattern)).toBe(false);
  });
});

describe('compilePattern', () => {
  const table: [pattern: string, type: string, matches: boolean][] = [
    ['order.created', 'order.created', true],
    ['order.created', 'order.created.v2', false],
    ['order.created', 'order', false],
    ['order.created', 'Order.created', false],
    ['*', 'anything', true],
    ['*', 'a.b.c.d', true],
    ['order.*', 'order.created', true],
    ['order.*', 'order.item.added', true],
    ['order.*', 'order', false],
    ['order.*', 'orders.created', false],
    ['order.*', 'orderx.created', false],
    ['order.*', 'x.order.created', false],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.xyz.c', true],
    ['a.*.c', 'a.c', false],
    ['a.*.c', 'a.b.b.c', false],
    ['a.*.c', 'a.b.cd', false],
    ['a.*.c', 'a.b.c.d', false],
    ['*.created', 'order.created', true],
    ['*.created', 'created', false],
    ['*.created', 'shop.order.created', false],
    ['*.*', 'a.b', true],
    ['*.*', 'a.b.c', true],
    ['*.*', 'a', false],
    // Regex metacharacters in a type are literal.
    ['v1/a-b:c.*', 'v1/a-b:c.x', true],
    ['v1/a-b:c.*', 'v1/aab:c.x', false],
  ];

  it.each(table)('%s against %s: %s', (pattern, type, expected) => {
    expect(compilePattern(pattern)(type)).toBe(expected);
  });
});

describe('compilePatterns', () => {
  it('an empty list matches nothing', () => {
    expect(compilePatterns([])('order.created')).toBe(false);
  });

  it('matches when any pattern matches', () => {
    const m = compilePatterns(['user.deleted', 'order.*', 'a.*.c']);
    expect(m('user.deleted')).toBe(true);
    expect(m('user.created')).toBe(false);
    expect(m('order.item.added')).toBe(true);
    expect(m('a.b.c')).toBe(true);
    expect(m('a.b.d')).toBe(false);
    expect(m('orders.created')).toBe(false);
  });

  it('`*` anywhere in the list matches every type', () => {
    const m = compilePatterns(['user.deleted', '*']);
    expect(m('x')).toBe(true);
    expect(m('order.item.added')).toBe(true);
  });

  it('exact types only', () => {
    const m = compilePatterns(['a', 'b.c']);
    expect(m('a')).toBe(true);
    expect(m('b.c')).toBe(true);
    expect(m('b')).toBe(false);
    expect(m('a.b')).toBe(false);
  });
});
