import { AppError } from '../errors.js';

// The `If` request header of RFC 4918 §10.4: lists of state tokens and entity tags, each list
// optionally tagged with the resource it is about. Pure parsing; the service evaluates.

export interface IfCondition {
  not: boolean;
  /** A state token (`opaquelocktoken:…`, `DAV:no-lock`) or an entity tag as sent (`"x"`, `W/"x"`). */
  kind: 'token' | 'etag';
  value: string;
}

export interface IfList {
  /** The tagged resource's URL as sent; null for an untagged list (the request's own resource). */
  resource: string | null;
  conditions: IfCondition[];
}

function bad(message: string): AppError {
  return new AppError('BAD_REQUEST', `The If header is malformed: ${message}`);
}

/** Parses an If header into its lists; BAD_REQUEST when it does not follow the grammar. */
export function parseIfHeader(header: string): IfList[] {
  const lists: IfList[] = [];
  let resource: string | null = null;
  let i = 0;
  const skipSpace = () => {
    while (i < header.length && /\s/.test(header[i])) i++;
  };
  const until = (close: string) => {
    const end = header.indexOf(close, i);
    if (end < 0) throw bad(`"${close}" is missing.`);
    const value = header.slice(i, end);
    i = end + 1;
    return value;
  };
  skipSpace();
  if (i === header.length) throw bad('it is empty.');
  while (i < header.length) {
    if (header[i] === '<') {
      i++;
      resource = until('>');
    } else if (header[i] === '(') {
      i++;
      const conditions: IfCondition[] = [];
      for (;;) {
        skipSpace();
        if (header[i] === ')') {
          i++;
          break;
        }
        let not = false;
        if (/^not\b/i.test(header.slice(i, i + 4))) {
          not = true;
          i += 3;
          skipSpace();
        }
        if (header[i] === '<') {
          i++;
          conditions.push({ not, kind: 'token', value: until('>') });
        } else if (header[i] === '[') {
          i++;
          conditions.push({ not, kind: 'etag', value: until(']').trim() });
        } else {
          throw bad(`unexpected "${header.slice(i, i + 10)}".`);
        }
      }
      if (conditions.length === 0) throw bad('a list is empty.');
      lists.push({ resource, conditions });
    } else {
      throw bad(`unexpected "${header.slice(i, i + 10)}".`);
    }
    skipSpace();
  }
  return lists;
}

/** Every state token the header names (the lock tokens a request submits). */
export function submittedTokens(lists: readonly IfList[]): Set<string> {
  const tokens = new Set<string>();
  for (const list of lists) for (const c of list.conditions) if (c.kind === 'token' && !c.not) tokens.add(c.value);
  return tokens;
}
