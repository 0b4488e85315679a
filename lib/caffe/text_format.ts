/**
 * Reader for the protobuf text format as Caffe files use it, driven by a Schema: `#` comments,
 * `field: value`, `field { ... }`, `field: { ... }` (and `< ... >`), quoted strings in single or
 * double quotes with C escapes (adjacent strings concatenate), decimal / hex / octal integers,
 * floats with exponents and an optional `f` suffix, `inf` / `nan`, enum value names (or numbers),
 * booleans, repeated fields (one per line or as `[a, b, c]`), optional `,` / `;` separators,
 * CRLF line ends, tabs, and no trailing newline.
 *
 * Errors are ParseError (E_PARSE) naming file:line:col, the token seen and what was expected.
 */
import { ParseError } from '../errors';
import { Message, type Scalar, type SourceLoc } from './message';
import type { FieldSpec, MessageSpec, Schema } from './schema';

/** Options of the text reader. */
export interface TextParseOptions {
  /** File name used in error messages. */
  readonly file?: string;
  /** Skip fields the schema does not know (forks of Caffe add fields), with a warning, instead of failing. */
  readonly allowUnknownFields?: boolean;
  /**
   * Called when a top-level field is unknown, before the generic error: returns a message to use
   * instead (e.g. "this is a solver file"), or undefined.
   */
  readonly explainUnknownTopLevel?: (fieldName: string) => string | undefined;
}

/** Result of a text parse: the message and any warnings (skipped unknown fields). */
export interface TextParseResult {
  readonly message: Message;
  readonly warnings: string[];
}

const enum Tok {
  Ident,
  Int,
  Float,
  Str,
  Punct,
  End,
}

interface Token {
  kind: Tok;
  /** Source text of the token (strings: the decoded bytes are in `bytes`). */
  text: string;
  bytes?: Uint8Array;
  line: number;
  col: number;
}

const MAX_TOKEN_SHOWN = 40;
/** Deepest message nesting accepted (protobuf's own text parser stops at 100). */
const MAX_DEPTH = 100;

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Splits text into tokens on demand, tracking 1-based line and column. */
class Tokenizer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private peeked: Token | undefined;

  constructor(
    private readonly src: string,
    private readonly file: string,
  ) {}

  /** The position of a token, for errors. */
  loc(t: Token): SourceLoc {
    return { file: this.file, line: t.line, col: t.col };
  }

  fail(t: Token, problem: string, expected: string): never {
    throw new ParseError(this.loc(t), problem, shown(t), expected);
  }

  peek(): Token {
    if (this.peeked === undefined) this.peeked = this.read();
    return this.peeked;
  }

  next(): Token {
    const t = this.peek();
    this.peeked = undefined;
    return t;
  }

  private skipSpaceAndComments(): void {
    const src = this.src;
    for (;;) {
      const c = src.charCodeAt(this.pos);
      if (c === 10) {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11) {
        this.pos++;
      } else if (c === 35) {
        // '#' comment to end of line
        const nl = src.indexOf('\n', this.pos);
        this.pos = nl < 0 ? src.length : nl;
      } else {
        return;
      }
    }
  }

  private read(): Token {
    this.skipSpaceAndComments();
    const src = this.src;
    const start = this.pos;
    const line = this.line;
    const col = start - this.lineStart + 1;
    if (start >= src.length) return { kind: Tok.End, text: '', line, col };
    const c = src.charCodeAt(start);
    if (isIdentStart(c)) {
      let p = start + 1;
      while (p < src.length && isIdentPart(src.charCodeAt(p))) p++;
      this.pos = p;
      return { kind: Tok.Ident, text: src.slice(start, p), line, col };
    }
    if (isDigit(c) || c === 46 /* . */ || c === 45 /* - */ || c === 43 /* + */) {
      return this.readNumber(start, line, col);
    }
    if (c === 34 || c === 39) return this.readString(start, line, col);
    if ('{}<>[]:,;'.includes(src[start])) {
      this.pos = start + 1;
      return { kind: Tok.Punct, text: src[start], line, col };
    }
    const bad: Token = { kind: Tok.Punct, text: String.fromCodePoint(src.codePointAt(start) ?? c), line, col };
    return this.fail(bad, 'unexpected character', 'a field name, value or one of { } [ ] : ,');
  }

  /** Numbers, with their sign; `-inf`, `-nan` and friends become Float tokens. */
  private readNumber(start: number, line: number, col: number): Token {
    const src = this.src;
    let p = start;
    if (src[p] === '-' || src[p] === '+') {
      p++;
      // A sign directly before inf/infinity/nan.
      const rest = /^(inf(inity)?|nan)\b/i.exec(src.slice(p, p + 9));
      if (rest !== null) {
        this.pos = p + rest[0].length;
        return { kind: Tok.Float, text: src.slice(start, this.pos), line, col };
      }
    }
    const m = /^(0[xX][0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fF]?)/.exec(src.slice(p, p + 400));
    if (m === null) {
      this.pos = p;
      const t: Token = { kind: Tok.Punct, text: src.slice(start, p + 1), line, col };
      return this.fail(t, 'malformed number', 'digits');
    }
    p += m[0].length;
    // A number must not run into letters ("12abc").
    if (p < src.length && (isIdentPart(src.charCodeAt(p)) || src[p] === '.')) {
      let q = p;
      while (q < src.length && (isIdentPart(src.charCodeAt(q)) || src[q] === '.')) q++;
      const t: Token = { kind: Tok.Punct, text: src.slice(start, q), line, col };
      this.fail(t, 'malformed number', 'a number');
    }
    this.pos = p;
    const text = src.slice(start, p);
    const body = m[0];
    const isFloat = !/^0[xX]/.test(body) && /[.eEfF]/.test(body);
    return { kind: isFloat ? Tok.Float : Tok.Int, text, line, col };
  }

  private readString(start: number, line: number, col: number): Token {
    const src = this.src;
    const quote = src[start];
    const bytes: number[] = [];
    let p = start + 1;
    const pushUtf8 = (s: string) => {
      for (const b of Buffer.from(s, 'utf8')) bytes.push(b);
    };
    for (;;) {
      if (p >= src.length || src[p] === '\n') {
        const t: Token = { kind: Tok.Str, text: src.slice(start, Math.min(p, start + MAX_TOKEN_SHOWN)), line, col };
        this.fail(t, 'unterminated string', `a closing ${quote}`);
      }
      const ch = src[p];
      if (ch === quote) {
        p++;
        break;
      }
      if (ch !== '\\') {
        // Copy a run of plain characters at once.
        let q = p + 1;
        while (q < src.length && src[q] !== quote && src[q] !== '\\' && src[q] !== '\n') q++;
        pushUtf8(src.slice(p, q));
        p = q;
        continue;
      }
      const e = src[p + 1];
      const simple: Record<string, number> = {
        n: 10,
        t: 9,
        r: 13,
        a: 7,
        b: 8,
        f: 12,
        v: 11,
        '\\': 92,
        "'": 39,
        '"': 34,
        '?': 63,
      };
      if (e !== undefined && simple[e] !== undefined) {
        bytes.push(simple[e]);
        p += 2;
      } else if (e !== undefined && e >= '0' && e <= '7') {
        const m = /^[0-7]{1,3}/.exec(src.slice(p + 1, p + 4)) as RegExpExecArray;
        bytes.push(parseInt(m[0], 8) & 0xff);
        p += 1 + m[0].length;
      } else if (e === 'x' || e === 'X') {
        const m = /^[0-9a-fA-F]{1,2}/.exec(src.slice(p + 2, p + 4));
        if (m === null) {
          this.fail(
            { kind: Tok.Str, text: src.slice(p, p + 4), line: this.line, col: p - this.lineStart + 1 },
            'bad \\x escape in string',
            'one or two hex digits',
          );
        }
        bytes.push(parseInt(m[0], 16));
        p += 2 + m[0].length;
      } else if (e === 'u' || e === 'U') {
        const n = e === 'u' ? 4 : 8;
        const hex = src.slice(p + 2, p + 2 + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex) || parseInt(hex, 16) > 0x10ffff) {
          this.fail(
            { kind: Tok.Str, text: src.slice(p, p + 2 + n), line: this.line, col: p - this.lineStart + 1 },
            `bad \\${e} escape in string`,
            `${n} hex digits of a code point`,
          );
        }
        pushUtf8(String.fromCodePoint(parseInt(hex, 16)));
        p += 2 + n;
      } else {
        this.fail(
          { kind: Tok.Str, text: src.slice(p, p + 2), line: this.line, col: p - this.lineStart + 1 },
          'unknown escape in string',
          'one of \\n \\t \\r \\\\ \\\' \\" \\? \\a \\b \\f \\v \\NNN \\xHH \\uXXXX',
        );
      }
    }
    this.pos = p;
    return { kind: Tok.Str, text: src.slice(start, p), bytes: Uint8Array.from(bytes), line, col };
  }
}

function shown(t: Token): string {
  return t.text.length > MAX_TOKEN_SHOWN ? `${t.text.slice(0, MAX_TOKEN_SHOWN - 3)}...` : t.text;
}

const INT_RANGES: Record<string, readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  // 64-bit fields are held as JS numbers: the safe-integer range is what we can represent exactly.
  int64: [BigInt(Number.MIN_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER)],
  sint64: [BigInt(Number.MIN_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER)],
  sfixed64: [BigInt(Number.MIN_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER)],
  uint64: [0n, BigInt(Number.MAX_SAFE_INTEGER)],
  fixed64: [0n, BigInt(Number.MAX_SAFE_INTEGER)],
};

/** Levenshtein distance, for "did you mean" hints. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

/** The closest name within a small edit distance, as ` (did you mean 'x'?)`, or ''. */
export function suggestion(name: string, candidates: Iterable<string>): string {
  let best = '';
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best !== '' && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? ` (did you mean '${best}'?)` : '';
}

/** Parses text-format `src` as a message of type `rootType` of `schema`. */
export function parseTextFormat(schema: Schema, rootType: string, src: string, options: TextParseOptions = {}): TextParseResult {
  const parser = new TextParser(schema, src, options);
  return parser.parseRoot(rootType);
}

class TextParser {
  private readonly tok: Tokenizer;
  private readonly warnings: string[] = [];

  constructor(
    private readonly schema: Schema,
    src: string,
    private readonly options: TextParseOptions,
  ) {
    // A byte-order mark at the start is not part of the text.
    this.tok = new Tokenizer(src.charCodeAt(0) === 0xfeff ? src.slice(1) : src, options.file ?? '<text>');
  }

  parseRoot(rootType: string): TextParseResult {
    const spec = this.schema.message(rootType);
    const message = new Message(this.schema, spec, { file: this.options.file ?? '<text>', line: 1, col: 1 });
    this.parseBody(message, undefined, true);
    return { message, warnings: this.warnings };
  }

  /** Reads fields until `close` ('}' or '>') or, at the top level, end of input. */
  private parseBody(msg: Message, close: string | undefined, topLevel: boolean, depth = 0): void {
    const tok = this.tok;
    for (;;) {
      const t = tok.next();
      if (t.kind === Tok.End) {
        if (close === undefined) return;
        tok.fail(t, `missing '${close}' to close ${msg.typeName}`, `'${close}'`);
      }
      if (t.kind === Tok.Punct && t.text === close) return;
      if (t.kind !== Tok.Ident) {
        tok.fail(t, `unexpected token in ${msg.typeName}`, close === undefined ? 'a field name' : `a field name or '${close}'`);
      }
      const field = msg.spec.byName.get(t.text);
      if (field === undefined) this.unknownField(msg.spec, t, topLevel);
      else if (field.kind === 'message') this.parseMessageField(msg, field, t, depth);
      else this.parseScalarField(msg, field, t);
      const sep = tok.peek();
      if (sep.kind === Tok.Punct && (sep.text === ',' || sep.text === ';')) tok.next();
    }
  }

  private unknownField(spec: MessageSpec, t: Token, topLevel: boolean): void {
    const explained = topLevel ? this.options.explainUnknownTopLevel?.(t.text) : undefined;
    if (explained !== undefined) {
      throw new ParseError(this.tok.loc(t), explained, shown(t), '');
    }
    if (this.options.allowUnknownFields !== true) {
      this.tok.fail(
        t,
        `unknown field '${t.text}' in ${spec.name}${suggestion(t.text, spec.byName.keys())}; ` +
          'pass allowUnknownFields to skip fields that forks of Caffe add',
        `a field of ${spec.name}`,
      );
    }
    const loc = this.tok.loc(t);
    this.warnings.push(`${loc.file}:${loc.line}:${loc.col}: skipped unknown field '${t.text}' in ${spec.name}`);
    this.skipValue();
  }

  /** Skips the value of an unknown field: `: scalar`, `: [list]`, or a `{...}` / `<...>` block. */
  private skipValue(): void {
    const tok = this.tok;
    let t = tok.next();
    if (t.kind === Tok.Punct && t.text === ':') {
      const v = tok.peek();
      if (!(v.kind === Tok.Punct && (v.text === '{' || v.text === '<'))) {
        t = tok.next();
        if (t.kind === Tok.Punct && t.text === '[') {
          this.skipBalanced(']');
          return;
        }
        if (t.kind === Tok.Ident || t.kind === Tok.Int || t.kind === Tok.Float) return;
        if (t.kind === Tok.Str) {
          while (tok.peek().kind === Tok.Str) tok.next();
          return;
        }
        tok.fail(t, 'bad value for an unknown field', 'a value');
      }
      t = tok.next();
    }
    if (t.kind === Tok.Punct && (t.text === '{' || t.text === '<')) {
      this.skipBalanced(t.text === '{' ? '}' : '>');
      return;
    }
    tok.fail(t, 'bad value for an unknown field', "':' or '{'");
  }

  /** Skips to the matching close bracket, counting nesting without recursion. */
  private skipBalanced(close: string): void {
    let depth = 1;
    for (;;) {
      const t = this.tok.next();
      if (t.kind === Tok.End) this.tok.fail(t, `missing '${close}'`, `'${close}'`);
      if (t.kind === Tok.Punct) {
        if (t.text === '{' || t.text === '<' || t.text === '[') depth++;
        else if (t.text === '}' || t.text === '>' || t.text === ']') depth--;
        if (depth === 0) {
          if (t.text !== close) this.tok.fail(t, 'mismatched bracket', `'${close}'`);
          return;
        }
      }
    }
  }

  private checkSingular(msg: Message, field: FieldSpec, t: Token): void {
    if (!field.repeated && msg.has(field.name)) {
      const first = msg.locOf(field.name);
      this.tok.fail(
        t,
        `field '${field.name}' of ${msg.typeName} is not repeated but appears twice` +
          (first !== undefined ? ` (first at line ${first.line})` : ''),
        'each non-repeated field once',
      );
    }
  }

  private parseMessageField(msg: Message, field: FieldSpec, name: Token, depth: number): void {
    const tok = this.tok;
    if (depth >= MAX_DEPTH) tok.fail(name, `messages nested more than ${MAX_DEPTH} deep`, 'a shallower file');
    if (tok.peek().kind === Tok.Punct && tok.peek().text === ':') tok.next();
    const first = tok.peek();
    if (field.repeated && first.kind === Tok.Punct && first.text === '[') {
      // The list form of a repeated message field: [ {...}, {...} ].
      tok.next();
      if (tok.peek().kind === Tok.Punct && tok.peek().text === ']') {
        tok.next();
        return;
      }
      for (;;) {
        const open = tok.next();
        msg.push(field.name, this.parseBlock(field, open, depth, tok.loc(open)), tok.loc(name));
        const sep = tok.next();
        if (sep.kind === Tok.Punct && sep.text === ']') return;
        if (!(sep.kind === Tok.Punct && sep.text === ',')) tok.fail(sep, 'bad list of messages', "',' or ']'");
      }
    }
    this.checkSingular(msg, field, name);
    const sub = this.parseBlock(field, tok.next(), depth, tok.loc(name));
    if (field.repeated) msg.push(field.name, sub, tok.loc(name));
    else msg.set(field.name, sub, tok.loc(name));
  }

  /** A `{ ... }` or `< ... >` block whose opening token is `open`, as a message of the field's type. */
  private parseBlock(field: FieldSpec, open: Token, depth: number, loc: SourceLoc): Message {
    const tok = this.tok;
    if (!(open.kind === Tok.Punct && (open.text === '{' || open.text === '<'))) {
      tok.fail(open, `field '${field.name}' is a message (${field.typeName}), so its value is a block`, "'{'");
    }
    const sub = new Message(this.schema, this.schema.message(field.typeName as string), loc);
    this.parseBody(sub, open.text === '{' ? '}' : '>', false, depth + 1);
    return sub;
  }

  private parseScalarField(msg: Message, field: FieldSpec, name: Token): void {
    const tok = this.tok;
    const colon = tok.next();
    if (!(colon.kind === Tok.Punct && colon.text === ':')) {
      tok.fail(colon, `field '${field.name}' needs ':' before its value`, "':'");
    }
    const loc = tok.loc(name);
    const first = tok.peek();
    if (first.kind === Tok.Punct && first.text === '[') {
      if (!field.repeated) tok.fail(first, `field '${field.name}' is not repeated, so it takes one value`, 'a single value');
      tok.next();
      if (tok.peek().kind === Tok.Punct && tok.peek().text === ']') {
        tok.next();
        return;
      }
      for (;;) {
        msg.push(field.name, this.parseScalar(field), loc);
        const sep = tok.next();
        if (sep.kind === Tok.Punct && sep.text === ']') return;
        if (!(sep.kind === Tok.Punct && sep.text === ',')) tok.fail(sep, 'bad list', "',' or ']'");
      }
    }
    this.checkSingular(msg, field, name);
    const value = this.parseScalar(field);
    if (field.repeated) msg.push(field.name, value, loc);
    else msg.set(field.name, value, loc);
  }

  private parseScalar(field: FieldSpec): Scalar {
    const tok = this.tok;
    const t = tok.next();
    switch (field.kind) {
      case 'string':
      case 'bytes': {
        if (t.kind !== Tok.Str) tok.fail(t, `field '${field.name}' takes a quoted string`, 'a string in quotes');
        const parts = [t.bytes as Uint8Array];
        while (tok.peek().kind === Tok.Str) parts.push(tok.next().bytes as Uint8Array);
        const bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts);
        return field.kind === 'bytes' ? bytes : Buffer.from(bytes).toString('utf8');
      }
      case 'bool': {
        if (t.kind === Tok.Ident) {
          if (t.text === 'true' || t.text === 'True' || t.text === 't') return true;
          if (t.text === 'false' || t.text === 'False' || t.text === 'f') return false;
        }
        if (t.kind === Tok.Int && (t.text === '1' || t.text === '0')) return t.text === '1';
        return tok.fail(t, `field '${field.name}' takes a boolean`, 'true or false');
      }
      case 'float':
      case 'double': {
        let v: number;
        if (t.kind === Tok.Float || t.kind === Tok.Int) v = parseFloatToken(t.text);
        else if (t.kind === Tok.Ident && /^(inf(inity)?|nan)$/i.test(t.text)) v = parseFloatToken(t.text);
        else return tok.fail(t, `field '${field.name}' takes a number`, 'a number');
        if (Number.isNaN(v) && !/nan/i.test(t.text)) tok.fail(t, 'malformed number', 'a number');
        return field.kind === 'float' ? Math.fround(v) : v;
      }
      case 'enum': {
        const spec = this.schema.enum(field.typeName as string);
        if (t.kind === Tok.Ident) {
          if (spec.byName.has(t.text)) return t.text;
          return tok.fail(
            t,
            `'${t.text}' is not a value of ${spec.name}${suggestion(t.text, spec.byName.keys())}`,
            `one of ${[...spec.byName.keys()].join(', ')}`,
          );
        }
        if (t.kind === Tok.Int) {
          const name = spec.byNumber.get(Number(t.text));
          if (name !== undefined) return name;
        }
        return tok.fail(t, `field '${field.name}' takes a value of ${spec.name}`, `one of ${[...spec.byName.keys()].join(', ')}`);
      }
      default: {
        if (t.kind !== Tok.Int) {
          return tok.fail(t, `field '${field.name}' takes an integer (${field.kind})`, 'an integer');
        }
        const value = parseIntToken(t.text);
        const [lo, hi] = INT_RANGES[field.kind];
        if (value < lo || value > hi) {
          tok.fail(t, `${t.text} is out of range for field '${field.name}' (${field.kind})`, `an integer in [${lo}, ${hi}]`);
        }
        return Number(value);
      }
    }
  }
}

/** Integer literal (decimal, 0x hex, leading-0 octal, with sign) to BigInt. */
function parseIntToken(text: string): bigint {
  let s = text;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  let v: bigint;
  if (/^0[xX]/.test(s)) v = BigInt(s);
  else if (/^0[0-7]+$/.test(s)) v = BigInt(`0o${s.slice(1)}`);
  else v = BigInt(s.replace(/^0+(?=\d)/, ''));
  return negative ? -v : v;
}

/** Float literal (with sign, exponent, `f` suffix, inf / infinity / nan) to a number. */
function parseFloatToken(text: string): number {
  const m = /^([+-]?)(inf(inity)?|nan)$/i.exec(text);
  if (m !== null) return m[2].toLowerCase() === 'nan' ? NaN : m[1] === '-' ? -Infinity : Infinity;
  // Hex and octal integers in a float field mean what they mean in an integer field.
  if (/^[+-]?(0[xX][0-9a-fA-F]+|0[0-7]+)$/.test(text)) return Number(parseIntToken(text));
  return Number(text.replace(/[fF]$/, ''));
}
