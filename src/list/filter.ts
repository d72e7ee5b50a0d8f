// Parser for the subset of AIP-160 filters that Cloud KMS list RPCs accept
// (https://google.aip.dev/160, Cloud KMS "Sorting and filtering list results").
//
//   expression  = sequence { "AND" sequence }
//   sequence    = factor { factor }             juxtaposition means AND
//   factor      = term { "OR" term }            so OR binds tighter than AND
//   term        = [ "NOT" | "-" ] term | simple
//   simple      = "(" expression ")" | field comparator value
//   comparator  = "=" | "!=" | "<" | "<=" | ">" | ">=" | ":"   ("=>" as ">=")
//   value       = bare word | "double" or 'single' quoted string | "*"
//
// The parser only builds a tree; which fields exist and what their values may
// be is decided by the compiler (query.ts) or the evaluator (evaluate.ts).
// It reads characters directly instead of tokenizing first, because "-" means
// negation before a term but is an ordinary character inside a value
// (2024-01-02T00:00:00Z) or a label key (cost-center).

import { invalidArgument, KmsError } from '../errors';

export type CmpOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | ':';

export type FilterNode =
  | { kind: 'and' | 'or'; items: FilterNode[] }
  | { kind: 'not'; item: FilterNode }
  | {
      kind: 'cmp';
      field: string;
      op: CmpOp;
      value: string;
      /** true when the value was written in quotes: then "*" is a literal star, not "present". */
      quoted: boolean;
      /** Offset of the field in the filter text, so later errors can point at it. */
      pos?: number;
    };

export type CmpNode = Extract<FilterNode, { kind: 'cmp' }>;

// Limits keep hostile filters from exhausting the stack (the parser and the
// compiler recurse) or SQLite's expression depth and bound-parameter count.
export const MAX_FILTER_LENGTH = 8192;
export const MAX_FILTER_DEPTH = 32;
export const MAX_FILTER_COMPARISONS = 200;

// Longest-first so "<=" is not read as "<" followed by a value "=...".
// "=>" appears in the Cloud KMS operator table, so it is accepted as ">=".
const COMPARATORS: readonly [string, CmpOp][] = [
  ['<=', '<='],
  ['>=', '>='],
  ['=>', '>='],
  ['!=', '!='],
  ['<', '<'],
  ['>', '>'],
  ['=', '='],
  [':', ':'],
];

const FIELD_PATH = /[\p{L}\p{N}_][\p{L}\p{N}_-]*(?:\.[\p{L}\p{N}_-]+)*/uy;
// A bare value ends at whitespace, a parenthesis, a quote or a comparator
// character; ':' is allowed so that RFC 3339 timestamps need no quotes.
const BARE_VALUE = /[^\s()"=<>!]+/uy;
const WHITESPACE = /\s/u;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  "'": "'",
  '\\': '\\',
  n: '\n',
  t: '\t',
  r: '\r',
};

/** Shows user text inside an error message: quoted, and cut short so a huge filter is not echoed back whole. */
export function shown(text: string): string {
  const cut = text.length > 64 ? `${text.slice(0, 61)}...` : text;
  return `'${cut}'`;
}

/** The error every filter problem is reported with: it names the request field and the offset. */
export function filterError(message: string, pos: number | undefined): KmsError {
  return invalidArgument(pos === undefined ? `filter: ${message}` : `filter: ${message} at position ${pos}`);
}

/** Parses a filter; an empty or all-whitespace filter means "no filter" and gives undefined. */
export function parseFilter(text: string): FilterNode | undefined {
  if (text.length > MAX_FILTER_LENGTH) {
    throw filterError(`longer than ${MAX_FILTER_LENGTH} characters`, undefined);
  }
  if (text.trim() === '') return undefined;
  return new Parser(text).parse();
}

class Parser {
  private pos = 0;
  private depth = 0;
  private comparisons = 0;

  constructor(private readonly text: string) {}

  parse(): FilterNode {
    const node = this.expression();
    this.skipSpace();
    if (this.pos < this.text.length) {
      const what = this.text[this.pos] === ')' ? "unmatched ')'" : `unexpected ${shown(this.text[this.pos])}`;
      throw filterError(what, this.pos);
    }
    return node;
  }

  private expression(): FilterNode {
    const items = [this.sequence()];
    while (this.takeKeyword('AND')) items.push(this.sequence());
    return combine('and', items);
  }

  private sequence(): FilterNode {
    const items = [this.factor()];
    while (this.startsAnotherFactor()) items.push(this.factor());
    return combine('and', items);
  }

  private factor(): FilterNode {
    const items = [this.term()];
    while (this.takeKeyword('OR')) items.push(this.term());
    return combine('or', items);
  }

  private term(): FilterNode {
    this.skipSpace();
    if (this.text[this.pos] === '-') {
      this.pos++;
      return this.negation();
    }
    if (this.takeKeyword('NOT')) return this.negation();
    return this.simple();
  }

  private negation(): FilterNode {
    const item = this.nested(() => this.term());
    return { kind: 'not', item };
  }

  private simple(): FilterNode {
    this.skipSpace();
    if (this.text[this.pos] !== '(') return this.restriction();
    const open = this.pos++;
    const inner = this.nested(() => this.expression());
    this.skipSpace();
    if (this.text[this.pos] !== ')') throw filterError(`missing ')' for the '(' at position ${open}`, undefined);
    this.pos++;
    return inner;
  }

  private restriction(): FilterNode {
    const start = this.pos;
    const field = this.fieldPath();
    this.skipSpace();
    const op = this.comparator(field);
    this.skipSpace();
    const { value, quoted } = this.value(op);
    if (++this.comparisons > MAX_FILTER_COMPARISONS) {
      throw filterError(`more than ${MAX_FILTER_COMPARISONS} comparisons`, start);
    }
    return { kind: 'cmp', field, op, value, quoted, pos: start };
  }

  private fieldPath(): string {
    for (const word of ['AND', 'OR']) {
      if (this.keywordAt(word)) throw filterError(`unexpected ${word}`, this.pos);
    }
    FIELD_PATH.lastIndex = this.pos;
    const match = FIELD_PATH.exec(this.text);
    if (!match) throw filterError(`expected a field name, found ${this.describeHere()}`, this.pos);
    this.pos += match[0].length;
    return match[0];
  }

  private comparator(field: string): CmpOp {
    for (const [text, op] of COMPARATORS) {
      if (this.text.startsWith(text, this.pos)) {
        this.pos += text.length;
        return op;
      }
    }
    throw filterError(`expected a comparison operator after ${shown(field)}, found ${this.describeHere()}`, this.pos);
  }

  private value(op: CmpOp): { value: string; quoted: boolean } {
    const quote = this.text[this.pos];
    if (quote === '"' || quote === "'") return { value: this.quoted(quote), quoted: true };
    const isKeyword = ['AND', 'OR', 'NOT'].some((word) => this.keywordAt(word));
    BARE_VALUE.lastIndex = this.pos;
    const match = isKeyword ? null : BARE_VALUE.exec(this.text);
    if (!match) throw filterError(`expected a value after '${op}', found ${this.describeHere()}`, this.pos);
    this.pos += match[0].length;
    return { value: match[0], quoted: false };
  }

  private quoted(quote: string): string {
    const open = this.pos++;
    let out = '';
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos++];
      if (ch === quote) return out;
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const escaped = this.text[this.pos];
      const replacement = escaped === undefined ? undefined : ESCAPES[escaped];
      if (replacement === undefined) throw filterError('invalid escape sequence in string', this.pos - 1);
      out += replacement;
      this.pos++;
    }
    throw filterError('unterminated string', open);
  }

  /** Runs a sub-parse one nesting level deeper, refusing nesting the recursion could not survive. */
  private nested(parse: () => FilterNode): FilterNode {
    if (++this.depth > MAX_FILTER_DEPTH) throw filterError(`nested deeper than ${MAX_FILTER_DEPTH} levels`, this.pos);
    const node = parse();
    this.depth--;
    return node;
  }

  /** After a factor: another factor follows unless the text ends, a group closes or AND comes. */
  private startsAnotherFactor(): boolean {
    this.skipSpace();
    if (this.pos >= this.text.length || this.text[this.pos] === ')') return false;
    return !this.keywordAt('AND');
  }

  private takeKeyword(word: string): boolean {
    this.skipSpace();
    if (!this.keywordAt(word)) return false;
    this.pos += word.length;
    return true;
  }

  /** A keyword is the exact uppercase word followed by the end, whitespace or '(' (NOTE=1 is a field). */
  private keywordAt(word: string): boolean {
    if (!this.text.startsWith(word, this.pos)) return false;
    const next = this.text[this.pos + word.length];
    return next === undefined || next === '(' || WHITESPACE.test(next);
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && WHITESPACE.test(this.text[this.pos])) this.pos++;
  }

  private describeHere(): string {
    return this.pos >= this.text.length ? 'the end of the filter' : shown(this.text.slice(this.pos, this.pos + 16));
  }
}

/** One item stays itself; nested nodes of the same kind are flattened so the tree stays shallow. */
function combine(kind: 'and' | 'or', items: FilterNode[]): FilterNode {
  if (items.length === 1) return items[0];
  const flat = items.flatMap((item) => (item.kind === kind ? item.items : [item]));
  return { kind, items: flat };
}
