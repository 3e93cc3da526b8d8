import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run } from '../util/run.ts';
import { SIGTAG, TAG, displayName, tagName, tagNumber } from './tags.ts';

test('name ↔ number', () => {
  assert.equal(tagNumber('name'), 1000);
  assert.equal(tagNumber('RPMTAG_PAYLOADDIGEST'), 5092);
  assert.equal(tagName(5057), 'ENHANCEFLAGS');
  assert.equal(displayName(TAG.URL), 'URL');
  assert.equal(displayName(TAG.BUILDTIME), 'BuildTime');
  assert.equal(displayName(TAG.NAME), 'Name');
});

test('numbers agree with python3-rpm (rpm.RPMTAG_*) when installed', async (t) => {
  const probe = await run('/usr/bin/python3', ['-c', 'import rpm'], { allowFailure: true }).catch(() => undefined);
  if (!probe || probe.status !== 0) return t.skip('python3-rpm not installed');
  const script = 'import rpm, json, sys\nprint(json.dumps({k[7:]: getattr(rpm, k) for k in dir(rpm) if k.startswith("RPMTAG_")}))';
  const theirs = JSON.parse((await run('/usr/bin/python3', ['-c', script])).stdout.toString()) as Record<string, number>;
  let compared = 0;
  for (const [name, n] of Object.entries(TAG)) {
    if (theirs[name] === undefined) continue;
    assert.equal(n, theirs[name], name);
    compared++;
  }
  assert.ok(compared > 200, `compared ${compared}`);
  // Signature tags that share numbers with main-header tags in rpm's headers.
  assert.equal(SIGTAG.SHA256, theirs['SHA256HEADER']);
  assert.equal(SIGTAG.SHA1, theirs['SHA1HEADER']);
  assert.equal(SIGTAG.RSA, theirs['RSAHEADER']);
  assert.equal(SIGTAG.LONGSIZE, theirs['LONGSIGSIZE']);
});
