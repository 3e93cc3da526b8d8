import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PhotonError } from '../util/errors.ts';
import { XmlParser, type XmlAttrs, type XmlHandler, decodeEntities, parseXml } from './xml.ts';

/** Records every event as a line; text is captured everywhere inside the root. */
function recorder(): XmlHandler & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    wantText: true,
    open(name: string, attrs: XmlAttrs, selfClosing: boolean) {
      const a: string[] = [];
      for (let i = 0; i < attrs.count; i++) a.push(`${attrs.name(i)}=${JSON.stringify(attrs.value(i))}`);
      events.push(`open ${name} ${a.join(' ')}${selfClosing ? ' /' : ''}`);
    },
    close(name: string) {
      events.push(`close ${name}`);
    },
    text(t: string) {
      // Text may arrive in pieces; merge neighbours so the record does not depend on chunking.
      const last = events[events.length - 1];
      if (last?.startsWith('text ')) events[events.length - 1] = `text ${JSON.stringify(JSON.parse(last.slice(5)) + t)}`;
      else events.push(`text ${JSON.stringify(t)}`);
    },
  };
}

const DOC = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE metadata>
<!-- a comment with <tags> & stuff -->
<metadata xmlns="http://linux.duke.edu/metadata/common" packages='2'>
<package type="rpm"><name>gl&amp;ibc</name><summary>x &lt; y &gt; z &quot;q&quot; &apos;a&apos; &#65;&#x42;&#x1F600; é 日本</summary>
  <rpm:entry name="a &amp; b" flags = "GE" ver="1&lt;2" />
  <description><![CDATA[raw <b>&amp;</b> ]]>tail</description><empty></empty>
</package>
</metadata>
`;

function eventsOf(chunks: (Uint8Array | string)[]): string[] {
  const r = recorder();
  const p = new XmlParser(r);
  for (const c of chunks) p.write(c);
  p.end();
  return r.events;
}

test('tokenizes elements, attributes, entities, CDATA, comments and PIs', () => {
  const ev = eventsOf([DOC]).filter((e) => !e.startsWith('text ') || (JSON.parse(e.slice(5)) as string).trim() !== '');
  assert.deepEqual(ev, [
    'open metadata xmlns="http://linux.duke.edu/metadata/common" packages="2"',
    'open package type="rpm"',
    'open name ', 'text "gl&ibc"', 'close name',
    'open summary ', `text ${JSON.stringify('x < y > z "q" \'a\' AB\u{1F600} é 日本')}`, 'close summary',
    'open rpm:entry name="a & b" flags="GE" ver="1<2" /', 'close rpm:entry',
    'open description ', 'text "raw <b>&amp;</b> tail"', 'close description',
    'open empty ', 'close empty',
    'close package',
    'close metadata',
  ]);
});

test('chunk boundaries anywhere, even inside a UTF-8 sequence, change nothing', () => {
  const bytes = Buffer.from(DOC);
  const whole = eventsOf([bytes]);
  for (let i = 1; i < bytes.length; i++) {
    assert.deepEqual(eventsOf([bytes.subarray(0, i), bytes.subarray(i)]), whole, `split at ${i}`);
  }
  const bytewise: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) bytes.subarray(i, i + 1) && bytewise.push(bytes.subarray(i, i + 1));
  assert.deepEqual(eventsOf(bytewise), whole);
});

test('attrs.get slices only the asked attribute and decodes it', () => {
  const seen: (string | undefined)[] = [];
  const p = new XmlParser({
    open(_n, a) {
      seen.push(a.get('ver'), a.get('missing'), a.get('name'));
    },
    close() {},
  });
  p.write('<e name="x&amp;y" ver=\'1.0\'/>');
  p.end();
  assert.deepEqual(seen, ['1.0', undefined, 'x&y']);
});

function xmlError(doc: string, re: RegExp): void {
  assert.throws(
    () => eventsOf([doc]),
    (e: unknown) => e instanceof PhotonError && e.code === 'E_XML' && re.test(e.message),
    `${doc} → ${re}`,
  );
}

test('malformed or truncated XML is E_XML with a line number', () => {
  xmlError('<a>\n<b>\n</a>', /<\/a> does not close <b> at line 3/);
  xmlError('<a>\n<b>text', /<b> is not closed at line 2/);
  xmlError('<a>\n<b x="1', /unexpected end of input inside markup at line 2/);
  xmlError('<a>\n\n&bogus;</a>', /unknown or unterminated entity '&bogus;' at line 3/);
  xmlError('<a>&amp</a>', /unterminated entity/);
  xmlError('<a x=1/>', /is not quoted/);
  xmlError('<a x/>', /has no value/);
  xmlError('<a></a><b/>', /second root element/);
  xmlError('</a>', /unexpected <\/a>/);
  xmlError('junk<a/>', /text outside the root element/);
  xmlError('', /no root element/);
  xmlError('<a>&#0;</a>', /invalid character reference/);
  xmlError('<a x="1"y="2"/>', /missing white space/);
  assert.throws(() => {
    const p = new XmlParser(recorder(), { file: 'primary.xml' });
    p.write(Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e]));
    p.end();
  }, (e: unknown) => e instanceof PhotonError && e.file === 'primary.xml' && /UTF-8/.test(e.message));
});

test('decodeEntities and parseXml over an async source', async () => {
  assert.equal(decodeEntities('&lt;&#x26;&#38;&gt;'), '<&&>');
  const r = recorder();
  r.wantText = false;
  await parseXml((async function* () {
    yield Buffer.from('<a><b>x</b>');
    yield Buffer.from('</a>');
  })(), r);
  assert.deepEqual(r.events, ['open a ', 'open b ', 'close b', 'close a']);
});
