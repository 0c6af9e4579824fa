import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AppError } from '../errors.js';

// WebDAV request bodies as namespace-resolved elements, and the escaping the answers need.
// fast-xml-parser checks well-formedness and keeps the document order; namespaces
// (prefixes, default namespaces, their scopes) are resolved here.

export const DAV_NS = 'DAV:';

/** An element with its namespace resolved; children in document order, text as strings. */
export interface XmlElement {
  ns: string;
  name: string;
  /** Attributes other than namespace declarations, by their local name (prefixed ones keep `prefix:`). */
  attrs: Record<string, string>;
  children: Array<XmlElement | string>;
}

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  // The option that decodes numeric character references (&#65536;), which XML has.
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
});

function invalidXml(message: string): AppError {
  return new AppError('BAD_REQUEST', `The request body is not acceptable XML: ${message}`);
}

/** Parses a request body; BAD_REQUEST when it is not well-formed or its namespaces are wrong. */
export function parseXml(text: string): XmlElement {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw invalidXml(valid.err.msg);
  const nodes = parser.parse(text) as OrderedNode[];
  const roots = nodes.filter((n) => !('#text' in n));
  if (roots.length !== 1) throw invalidXml('it must hold exactly one root element.');
  return resolve(roots[0], new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]));
}

function resolve(node: OrderedNode, outer: Map<string, string>): XmlElement {
  const tag = Object.keys(node).find((k) => k !== ':@')!;
  const rawAttrs = node[':@'] ?? {};
  let scope = outer;
  const attrs: Record<string, string> = {};
  for (const [key, value] of Object.entries(rawAttrs)) {
    if (key === 'xmlns' || key.startsWith('xmlns:')) {
      if (scope === outer) scope = new Map(outer);
      const prefix = key === 'xmlns' ? '' : key.slice(6);
      // Namespaces in XML 1.0 §3: a prefix cannot be bound to the empty name.
      if (prefix !== '' && value === '') throw invalidXml(`the prefix "${prefix}" is bound to an empty namespace.`);
      scope.set(prefix, value);
    } else {
      attrs[key] = value;
    }
  }
  const colon = tag.indexOf(':');
  const prefix = colon < 0 ? '' : tag.slice(0, colon);
  const name = colon < 0 ? tag : tag.slice(colon + 1);
  const ns = scope.get(prefix);
  if (ns === undefined && prefix !== '') throw invalidXml(`the prefix "${prefix}" is not declared.`);
  const children: Array<XmlElement | string> = [];
  for (const child of (node[tag] as OrderedNode[] | undefined) ?? []) {
    if ('#text' in child) children.push(String(child['#text']));
    else children.push(resolve(child, scope));
  }
  return { ns: ns ?? '', name, attrs, children };
}

/** The child elements of `el` (text between them dropped), optionally only those of one name. */
export function elements(el: XmlElement, ns?: string, name?: string): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string' && (ns === undefined || (c.ns === ns && c.name === name)));
}

export function firstElement(el: XmlElement, ns: string, name: string): XmlElement | undefined {
  return elements(el, ns, name)[0];
}

export function isElement(el: XmlElement, ns: string, name: string): boolean {
  return el.ns === ns && el.name === name;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}

/**
 * An element written out on its own: every element declares its namespace as the default one,
 * so it reads the same wherever it is embedded (a stored dead property, a lock's owner).
 */
export function serializeElement(el: XmlElement): string {
  let attrs = ` xmlns="${escapeXml(el.ns)}"`;
  for (const [key, value] of Object.entries(el.attrs)) {
    // Prefixed attributes would need their declarations: only xml:lang and plain ones are kept.
    if (key.includes(':') && !key.startsWith('xml:')) continue;
    attrs += ` ${key}="${escapeXml(value)}"`;
  }
  const inner = el.children.map((c) => (typeof c === 'string' ? escapeXml(c) : serializeElement(c))).join('');
  return inner === '' ? `<${el.name}${attrs}/>` : `<${el.name}${attrs}>${inner}</${el.name}>`;
}

/** The text inside an element, its descendants' included. */
export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}
