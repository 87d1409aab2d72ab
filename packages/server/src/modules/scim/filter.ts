import { ScimError } from './errors.js';

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;

/** A parsed SCIM filter (RFC 7644 section 3.4.2.2). Attribute paths are kept as written. */
export type Filter =
  | { kind: 'and' | 'or'; left: Filter; right: Filter }
  | { kind: 'not'; filter: Filter }
  | { kind: 'present'; path: string }
  | { kind: 'compare'; path: string; op: CompareOp; value: FilterValue };

/** Bounds on what a client may send: characters, nesting of parentheses and `not`, comparisons. */
export const FILTER_LIMITS = { length: 1000, depth: 8, comparisons: 20 } as const;

const COMPARE_OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);

type Token =
  | { kind: 'punct'; text: '(' | ')' }
  | { kind: 'string'; value: string }
  | { kind: 'word'; text: string };

/** Attribute paths (with an optional schema URN prefix), operators, keywords and numbers. */
const WORD =
  /^(?:urn:[A-Za-z0-9:._-]+|[A-Za-z$][\w$-]*(?:\.[A-Za-z$][\w$-]*)?|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/;
const STRING = /^"(?:[^"\\]|\\.)*"/;

function invalid(detail: string): ScimError {
  return new ScimError(400, detail, 'invalidFilter');
}

/** A JSON string literal's value (RFC 7644 compValue strings are JSON strings). */
function jsonString(literal: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    throw invalid('The filter has a malformed string.');
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let rest = text;
  while (rest.length > 0) {
    const space = /^\s+/.exec(rest);
    if (space) {
      rest = rest.slice(space[0].length);
      continue;
    }
    const first = rest[0] as string;
    if (first === '(' || first === ')') {
      tokens.push({ kind: 'punct', text: first });
      rest = rest.slice(1);
      continue;
    }
    const quoted = STRING.exec(rest);
    if (quoted) {
      tokens.push({ kind: 'string', value: jsonString(quoted[0]) });
      rest = rest.slice(quoted[0].length);
      continue;
    }
    if (first === '"') throw invalid('The filter has an unterminated or malformed string.');
    const word = WORD.exec(rest);
    if (!word) throw invalid(`The filter cannot be read at "${rest.slice(0, 20)}".`);
    tokens.push({ kind: 'word', text: word[0] });
    rest = rest.slice(word[0].length);
  }
  return tokens;
}

/** Recursive descent: or binds loosest, then and, then not and parentheses. */
class FilterParser {
  private position = 0;
  private comparisons = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): Filter {
    const filter = this.orExpression(0);
    if (this.position < this.tokens.length) throw invalid('The filter has text after its end.');
    return filter;
  }

  private peekKeyword(): string | undefined {
    const token = this.tokens[this.position];
    return token?.kind === 'word' ? token.text.toLowerCase() : undefined;
  }

  private orExpression(depth: number): Filter {
    let left = this.andExpression(depth);
    while (this.peekKeyword() === 'or') {
      this.position++;
      left = { kind: 'or', left, right: this.andExpression(depth) };
    }
    return left;
  }

  private andExpression(depth: number): Filter {
    let left = this.term(depth);
    while (this.peekKeyword() === 'and') {
      this.position++;
      left = { kind: 'and', left, right: this.term(depth) };
    }
    return left;
  }

  private term(depth: number): Filter {
    if (depth >= FILTER_LIMITS.depth) {
      throw invalid(`The filter nests deeper than ${FILTER_LIMITS.depth} levels.`);
    }
    const token = this.tokens[this.position];
    if (!token) throw invalid('The filter ends where a comparison was expected.');
    if (token.kind === 'punct' && token.text === '(') {
      this.position++;
      const inner = this.orExpression(depth + 1);
      this.expectClose();
      return inner;
    }
    if (this.peekKeyword() === 'not' && this.tokens[this.position + 1]?.kind === 'punct') {
      this.position++;
      const open = this.tokens[this.position];
      if (open?.kind !== 'punct' || open.text !== '(') throw invalid('"not" must be followed by "(".');
      this.position++;
      const inner = this.orExpression(depth + 1);
      this.expectClose();
      return { kind: 'not', filter: inner };
    }
    return this.comparison();
  }

  private expectClose(): void {
    const token = this.tokens[this.position];
    if (token?.kind !== 'punct' || token.text !== ')') throw invalid('A "(" in the filter is not closed.');
    this.position++;
  }

  private comparison(): Filter {
    const path = this.tokens[this.position];
    const op = this.tokens[this.position + 1];
    if (path?.kind !== 'word' || !/^(urn:|[A-Za-z$])/.test(path.text)) {
      throw invalid('A comparison must start with an attribute path.');
    }
    if (op?.kind !== 'word') throw invalid(`"${path.text}" must be followed by an operator.`);
    if (++this.comparisons > FILTER_LIMITS.comparisons) {
      throw invalid(`The filter has more than ${FILTER_LIMITS.comparisons} comparisons.`);
    }
    const operator = op.text.toLowerCase();
    if (operator === 'pr') {
      this.position += 2;
      return { kind: 'present', path: path.text };
    }
    if (!COMPARE_OPS.has(operator)) throw invalid(`"${op.text}" is not a filter operator.`);
    const value = this.tokens[this.position + 2];
    this.position += 3;
    return { kind: 'compare', path: path.text, op: operator as CompareOp, value: literal(value) };
  }
}

function literal(token: Token | undefined): FilterValue {
  if (token?.kind === 'string') return token.value;
  if (token?.kind === 'word') {
    const word = token.text.toLowerCase();
    if (word === 'true') return true;
    if (word === 'false') return false;
    if (word === 'null') return null;
    if (/^-?\d/.test(word)) return Number(word);
  }
  throw invalid('A comparison needs a value: a quoted string, a number, true, false or null.');
}

/** Parses a filter, refusing anything over FILTER_LIMITS with invalidFilter. */
export function parseFilter(text: string): Filter {
  if (text.length > FILTER_LIMITS.length) {
    throw invalid(`The filter is longer than ${FILTER_LIMITS.length} characters.`);
  }
  const tokens = tokenize(text);
  if (tokens.length === 0) throw invalid('The filter is empty.');
  return new FilterParser(tokens).parse();
}
