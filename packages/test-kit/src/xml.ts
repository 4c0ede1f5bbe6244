import { SaxesParser } from 'saxes';

/** An element of a parsed XML document: namespace-resolved name, attributes, text, children. */
export interface XmlElement {
  /** Namespace URI ('' for none). */
  ns: string;
  /** Local name. */
  name: string;
  attributes: Record<string, string>;
  /** The element's own character data, concatenated (entities and references decoded). */
  text: string;
  children: XmlElement[];
  /** The children named `name` (in the element's namespace unless `ns` is given). */
  all(name: string, ns?: string): XmlElement[];
  /** The first child named `name`; throws when there is none. */
  one(name: string, ns?: string): XmlElement;
}

/**
 * Parses `xml` as a strict, namespace-aware XML 1.0 parser (saxes, the parser behind jsdom)
 * does, as a feed reader would: any well-formedness error (an unescaped `<` or `&`, a character
 * XML cannot carry, a stray `]]>`, unbalanced tags) throws with its line and column.
 */
export function parseXml(xml: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let failure: Error | undefined;
  parser.on('error', (error) => {
    failure ??= error;
  });
  parser.on('opentag', (tag) => {
    const element: XmlElement = {
      ns: tag.uri,
      name: tag.local,
      attributes: Object.fromEntries(Object.values(tag.attributes).map((a) => [a.name, a.value])),
      text: '',
      children: [],
      all(name, ns = element.ns) {
        return element.children.filter((c) => c.name === name && c.ns === ns);
      },
      one(name, ns = element.ns) {
        const found = element.all(name, ns)[0];
        if (!found) throw new Error(`<${element.name}> has no <${name}> child`);
        return found;
      },
    };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else root = element;
    stack.push(element);
  });
  const addText = (text: string) => {
    const current = stack[stack.length - 1];
    if (current) current.text += text;
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.write(xml).close();
  if (failure) throw new Error(`not well-formed XML: ${failure.message}`);
  if (!root) throw new Error('not an XML document: no root element');
  return root;
}
