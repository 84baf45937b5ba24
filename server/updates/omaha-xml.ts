// Strict, bounded XML for the Omaha endpoint, on saxes (a conformant, non-validating XML 1.0
// parser that never fetches or declares entities). A document type declaration (the carrier
// of entity-expansion and external-entity attacks), processing instructions, CDATA, non-UTF-8
// bytes, more than a few hundred elements or deep nesting are refused before any of it is
// interpreted. Text content is ignored: Omaha carries everything in attributes.
import { SaxesParser } from 'saxes';
import { InvalidRequestError } from '../errors.ts';

export interface XmlElement {
  name: string;
  attrs: Readonly<Record<string, string>>;
  children: XmlElement[];
}

export const XML_LIMITS = {
  bytes: 64 * 1024,
  elements: 256,
  depth: 8,
  attributes: 32,
  attributeLength: 512,
} as const;

/** Parse `body` (raw bytes) into an element tree; InvalidRequestError names what was wrong. */
export function parseXml(body: Uint8Array): XmlElement {
  if (body.length > XML_LIMITS.bytes) bad(`body larger than ${XML_LIMITS.bytes} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return bad('body is not UTF-8');
  }
  const parser = new SaxesParser({ position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  parser.on('error', (err) => bad(err.message));
  parser.on('doctype', () => bad('document type declarations are not accepted'));
  parser.on('processinginstruction', (pi) => bad(`processing instruction <?${pi.target}?> not accepted`));
  parser.on('cdata', () => bad('CDATA sections are not accepted'));
  parser.on('xmldecl', (decl) => {
    if (decl.encoding !== undefined && decl.encoding.toLowerCase() !== 'utf-8')
      bad(`encoding ${decl.encoding} not accepted (UTF-8 only)`);
  });
  parser.on('opentag', (tag) => {
    if (++count > XML_LIMITS.elements) bad(`more than ${XML_LIMITS.elements} elements`);
    if (stack.length >= XML_LIMITS.depth) bad(`elements nested deeper than ${XML_LIMITS.depth}`);
    const entries = Object.entries(tag.attributes);
    if (entries.length > XML_LIMITS.attributes)
      bad(`<${tag.name}> has more than ${XML_LIMITS.attributes} attributes`);
    for (const [name, value] of entries) {
      if (value.length > XML_LIMITS.attributeLength)
        bad(`<${tag.name} ${name}> longer than ${XML_LIMITS.attributeLength} characters`);
    }
    const element: XmlElement = { name: tag.name, attrs: Object.fromEntries(entries), children: [] };
    stack.at(-1)?.children.push(element);
    root ??= element;
    stack.push(element);
  });
  parser.on('closetag', () => void stack.pop());
  parser.write(text).close();
  return root ?? bad('no root element');
}

function bad(message: string): never {
  throw new InvalidRequestError(`invalid Omaha request: ${message}`);
}
