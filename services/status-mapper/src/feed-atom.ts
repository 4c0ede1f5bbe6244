import { createHash } from 'node:crypto';

/*
 * A small Atom 1.0 (RFC 4287) writer: the fixed shape of one feed, every value escaped.
 *
 * Why not an XML library (xmlbuilder2 was the candidate): the document is a dozen element kinds,
 * and what matters is escaping, including the characters XML 1.0 cannot carry at all (NUL, other
 * C0 controls, lone surrogates) that a provider's text may hold and that we would have to
 * replace before handing text to a builder anyway; the library would bring a whole DOM
 * implementation along for the rest. So: one escaping function for character data and one for attribute values, both
 * replacing what XML cannot carry with U+FFFD, and no CDATA anywhere (a `]]>` in a provider's
 * text is just `]]&gt;`). Text constructs are always
 * `type="text"`: feed readers show them as text, never as markup.
 */

export interface AtomLink {
  href: string;
  rel?: 'alternate' | 'self' | 'related' | 'via';
  type?: string;
  title?: string;
}

export interface AtomPerson {
  name: string;
  uri?: string;
}

export interface AtomEntry {
  /** A permanent, universally unique IRI (`urn:uuid:…`). */
  id: string;
  title: string;
  /** RFC 3339 date-time. */
  updated: string;
  published?: string;
  /** Plain text; shown by readers as text. */
  summary?: string;
  links?: AtomLink[];
  categories?: { term: string; label?: string }[];
  authors?: AtomPerson[];
}

export interface AtomFeed {
  id: string;
  title: string;
  subtitle?: string;
  updated: string;
  links?: AtomLink[];
  /** Feed-level author: entries without their own inherit it (RFC 4287 §4.1.1). */
  author: AtomPerson;
  generator?: string;
  entries: readonly AtomEntry[];
}

/** Everything XML 1.0 allows (the `Char` production); anything else becomes U+FFFD. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Character data: `&`, `<` and `>` (so `]]>` cannot appear), and CR kept as a reference. */
export function escapeText(value: string): string {
  return value
    .replace(NOT_XML_CHAR, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;');
}

/** An attribute value in double quotes; whitespace kept as references (parsers normalise it otherwise). */
export function escapeAttribute(value: string): string {
  return escapeText(value).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

function dateTime(value: string, what: string): string {
  if (!RFC3339.test(value)) throw new Error(`atom: ${what} ${JSON.stringify(value)} is not an RFC 3339 date-time`);
  return value;
}

type Attrs = Record<string, string | undefined>;

function attrs(values: Attrs): string {
  return Object.entries(values)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => ` ${k}="${escapeAttribute(v)}"`)
    .join('');
}

const element = (indent: string, name: string, text: string, attributes: Attrs = {}) =>
  `${indent}<${name}${attrs(attributes)}>${escapeText(text)}</${name}>\n`;

const empty = (indent: string, name: string, attributes: Attrs) => `${indent}<${name}${attrs(attributes)}/>\n`;

function link(indent: string, l: AtomLink): string {
  return empty(indent, 'link', { rel: l.rel, type: l.type, href: l.href, title: l.title });
}

function person(indent: string, name: 'author', p: AtomPerson): string {
  return `${indent}<${name}>\n${element(`${indent}  `, 'name', p.name)}${p.uri ? element(`${indent}  `, 'uri', p.uri) : ''}${indent}</${name}>\n`;
}

function entry(e: AtomEntry): string {
  const i = '    ';
  let out = '  <entry>\n';
  out += element(i, 'id', e.id);
  out += element(i, 'title', e.title, { type: 'text' });
  out += element(i, 'updated', dateTime(e.updated, 'entry updated'));
  if (e.published) out += element(i, 'published', dateTime(e.published, 'entry published'));
  for (const a of e.authors ?? []) out += person(i, 'author', a);
  for (const l of e.links ?? []) out += link(i, l);
  for (const c of e.categories ?? []) out += empty(i, 'category', { term: c.term, label: c.label });
  if (e.summary !== undefined) out += element(i, 'summary', e.summary, { type: 'text' });
  return `${out}  </entry>\n`;
}

/** The feed as an XML document (UTF-8), entries in the order given. */
export function renderAtom(feed: AtomFeed): string {
  const i = '  ';
  let out = '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n';
  out += element(i, 'id', feed.id);
  out += element(i, 'title', feed.title, { type: 'text' });
  if (feed.subtitle) out += element(i, 'subtitle', feed.subtitle, { type: 'text' });
  out += element(i, 'updated', dateTime(feed.updated, 'feed updated'));
  for (const l of feed.links ?? []) out += link(i, l);
  out += person(i, 'author', feed.author);
  if (feed.generator) out += element(i, 'generator', feed.generator);
  for (const e of feed.entries) out += entry(e);
  return `${out}</feed>\n`;
}

/** The RFC 4122 URL namespace, for name-based UUIDs of URLs. */
export const UUID_NAMESPACE_URL = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

/** A name-based (version 5, SHA-1) UUID: the same name in the same namespace always gives the same id. */
export function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new Error(`uuidV5: ${namespace} is not a UUID`);
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
