/** Assertions for tdnf's library errors. */
import assert from 'node:assert/strict';
import { TdnfError } from '../../src/tdnf/errors.ts';

/** `p` rejects with a TdnfError of `code` (and, if given, a message matching `match`). */
export async function rejectsTdnfCode(p: Promise<unknown>, code: number, match?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof TdnfError, String(e));
    assert.equal(e.code, code, e.message);
    if (match) assert.match(e.message, match);
    return true;
  });
}
