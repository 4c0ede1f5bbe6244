import { describe, expect, it } from 'vitest';
import { parseXml } from './xml.js';

describe(parseXml.name, () => {
  it('reads elements, namespaces, attributes and decoded text', () => {
    const root = parseXml('<?xml version="1.0"?><f xmlns="urn:x"><e a="1 &amp; 2">x &lt; y</e></f>');
    expect(root).toMatchObject({ ns: 'urn:x', name: 'f' });
    expect(root.one('e')).toMatchObject({ attributes: { a: '1 & 2' }, text: 'x < y' });
  });

  it.each([
    ['an unescaped <', '<f><e>a <b</e></f>'],
    ['an unescaped &', '<f>a & b</f>'],
    ['a stray ]]>', '<f>a ]]> b</f>'],
    ['a NUL character', '<f>a\u0000b</f>'],
    ['unbalanced tags', '<f><e></f>'],
  ])('refuses a document with %s, as a feed reader would', (_what, xml) => {
    expect(() => parseXml(xml)).toThrow(/not well-formed XML/);
  });
});
