import { InvalidArgumentError } from '../shared/errors/input.js';
import { describe } from '../shared/validate.js';
// A cursor is the position after the last row of a page. Lists are ordered by
// rowid, newest first, so rows added between pages never shift a page.

export function encodeCursor(kind: 'e' | 'd', seq: number): string {
  return Buffer.from(`${kind}:${seq}`).toString('base64url');
}

export function decodeCursor(kind: 'e' | 'd', cursor: unknown): number {
  if (typeof cursor === 'string') {
    const match = /^([ed]):([1-9][0-9]{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
    if (match && match[1] === kind) return Number(match[2]);
  }
  throw new InvalidArgumentError(
    'cursor',
    `Expected \`cursor\` to be a \`nextCursor\` from this list, got ${describe(cursor)}`,
    'ERR_INVALID_CURSOR',
  );
}
