import { parseXml } from '@micro-oncall/test-kit';
import { describe, expect, it } from 'vitest';
import { type AtomFeed, escapeAttribute, escapeText, renderAtom, UUID_NAMESPACE_URL, uuidV5 } from './feed-atom.js';

const ATOM = 'http://www.w3.org/2005/Atom';

const aFeed = (overrides: Partial<AtomFeed> = {}): AtomFeed => ({
  id: 'https://oncall.example.com/status/feed.atom',
  title: 'Provider status',
  updated: '2025-11-21T08:01:02.000Z',
  author: { name: 'status-mapper' },
  links: [{ rel: 'self', type: 'application/atom+xml', href: 'https://oncall.example.com/status/feed.atom' }],
  entries: [
    {
      id: 'urn:uuid:0b6a2f5e-7f0e-4a43-9d35-6f0f6f1e2a11',
      title: 'Cloudflare — CDN Edge: major outage',
      updated: '2025-11-21T08:01:02.000Z',
      summary: 'Affects internal services: api-gateway, frontend.',
      links: [{ rel: 'alternate', href: 'https://stspg.io/abc' }],
      categories: [{ term: 'major_outage', label: 'major outage' }],
    },
  ],
  ...overrides,
});

describe(renderAtom.name, () => {
  it('writes an Atom 1.0 document a strict XML parser reads back as given', () => {
    const feed = parseXml(renderAtom(aFeed()));
    expect(feed).toMatchObject({ ns: ATOM, name: 'feed' });
    expect(feed.one('id').text).toBe('https://oncall.example.com/status/feed.atom');
    expect(feed.one('title').attributes).toEqual({ type: 'text' });
    expect(feed.one('updated').text).toBe('2025-11-21T08:01:02.000Z');
    expect(feed.one('author').one('name').text).toBe('status-mapper');
    expect(feed.one('link').attributes).toEqual({
      rel: 'self',
      type: 'application/atom+xml',
      href: 'https://oncall.example.com/status/feed.atom',
    });
    const [entry] = feed.all('entry');
    expect(entry!.one('id').text).toBe('urn:uuid:0b6a2f5e-7f0e-4a43-9d35-6f0f6f1e2a11');
    expect(entry!.one('title').text).toBe('Cloudflare — CDN Edge: major outage');
    expect(entry!.one('summary').text).toBe('Affects internal services: api-gateway, frontend.');
    expect(entry!.one('summary').attributes).toEqual({ type: 'text' });
    expect(entry!.one('category').attributes).toEqual({ term: 'major_outage', label: 'major outage' });
  });

  it('keeps hostile provider text as text: markup, CDATA ends, entities and quotes come back verbatim', () => {
    const hostile = `<script>alert("x")</script> ]]> <![CDATA[ & &amp; &#x41; 'quoted' "double"`;
    const xml = renderAtom(
      aFeed({
        entries: [
          {
            id: 'urn:uuid:0b6a2f5e-7f0e-4a43-9d35-6f0f6f1e2a11',
            title: hostile,
            updated: '2025-11-21T08:01:02.000Z',
            summary: `${hostile}\nsecond line\r\nthird`,
            links: [{ rel: 'alternate', href: `https://x.example/?a=1&b="2"<>` }],
            categories: [{ term: hostile }],
          },
        ],
      }),
    );
    expect(xml).not.toContain('<script>');
    expect(xml).not.toContain(']]>');
    expect(xml).not.toContain('<![CDATA[');
    const entry = parseXml(xml).one('entry');
    expect(entry.one('title').text).toBe(hostile);
    expect(entry.one('summary').text).toBe(`${hostile}\nsecond line\r\nthird`);
    expect(entry.one('link').attributes.href).toBe(`https://x.example/?a=1&b="2"<>`);
    expect(entry.one('category').attributes.term).toBe(hostile);
  });

  it('replaces characters XML cannot carry (NUL, controls, lone surrogates) instead of writing a broken document', () => {
    const broken = `a\u0000b\u0007c\u001bd\uD800e\uFFFEf`;
    const xml = renderAtom(aFeed({ title: broken, entries: [] }));
    expect(parseXml(xml).one('title').text).toBe('a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\uFFFDf');
  });

  it('keeps characters outside the Basic Multilingual Plane and tabs', () => {
    const text = 'status 🔥 in\ttabs — ünïcödé';
    expect(parseXml(renderAtom(aFeed({ title: text, entries: [] }))).one('title').text).toBe(text);
  });

  it('refuses a date that is not RFC 3339 rather than writing an invalid feed', () => {
    expect(() => renderAtom(aFeed({ updated: '2025-11-21 08:01:02+00' }))).toThrow(/not an RFC 3339 date-time/);
  });
});

describe('XML escaping', () => {
  it('escapes character data so that no markup and no CDATA end survive', () => {
    expect(escapeText('a < b && c > d ]]>')).toBe('a &lt; b &amp;&amp; c &gt; d ]]&gt;');
  });

  it('escapes attribute values, whitespace included (parsers would normalise it to spaces)', () => {
    expect(escapeAttribute('"a"\tb\nc\rd<&')).toBe('&quot;a&quot;&#9;b&#10;c&#13;d&lt;&amp;');
  });
});

describe(uuidV5.name, () => {
  it('gives the RFC 4122 name-based UUIDs other implementations give', () => {
    expect(uuidV5('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
    expect(uuidV5('https://example.com/feed', UUID_NAMESPACE_URL)).toBe('46c5cc7d-4e29-5096-af13-8a743d5ee73a');
  });
});
