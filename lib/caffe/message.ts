/**
 * Message: one decoded protobuf message (from text or binary), with the fields that were present
 * and typed getters that apply the schema's defaults. Enum values are held by value name.
 */
import type { FieldSpec, MessageSpec, Schema } from './schema';

/** Where a message or field starts in a text file (1-based line and column). */
export interface SourceLoc {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** A scalar field value: numbers (all integer and float kinds), enum value names, strings, bools, bytes. */
export type Scalar = number | string | boolean | Uint8Array;

/** Any field value. */
export type FieldValue = Scalar | Message;

/** Formats a location as `file:line:col`. */
export function formatLoc(loc: SourceLoc | undefined): string {
  return loc === undefined ? '' : `${loc.file}:${loc.line}:${loc.col}`;
}

/** A decoded message. */
export class Message {
  private readonly values = new Map<string, FieldValue | FieldValue[]>();
  private readonly locs = new Map<string, SourceLoc>();

  /**
   * @param schema the schema the message belongs to
   * @param spec   its message description
   * @param loc    where it starts in a text file, when it came from one
   */
  constructor(
    readonly schema: Schema,
    readonly spec: MessageSpec,
    readonly loc?: SourceLoc,
  ) {}

  /** The message type's name. */
  get typeName(): string {
    return this.spec.name;
  }

  /** The field description; throws Error for a name the message does not have (a bug here). */
  field(name: string): FieldSpec {
    const f = this.spec.byName.get(name);
    if (f === undefined) throw new Error(`${this.spec.name} has no field ${name}`);
    return f;
  }

  /** True when the field was present (for repeated fields: at least one value). */
  has(name: string): boolean {
    const v = this.values.get(name);
    return v !== undefined && (!Array.isArray(v) || v.length > 0);
  }

  /** Where the field was first written, when known. */
  locOf(name: string): SourceLoc | undefined {
    return this.locs.get(name) ?? this.loc;
  }

  /** Sets a singular field (replacing any value). */
  set(name: string, value: FieldValue, loc?: SourceLoc): void {
    this.values.set(name, value);
    if (loc !== undefined) this.locs.set(name, loc);
  }

  /** Appends to a repeated field. */
  push(name: string, value: FieldValue, loc?: SourceLoc): void {
    const list = this.values.get(name);
    if (Array.isArray(list)) list.push(value);
    else this.values.set(name, [value]);
    if (loc !== undefined && !this.locs.has(name)) this.locs.set(name, loc);
  }

  /** Removes a field. */
  clear(name: string): void {
    this.values.delete(name);
    this.locs.delete(name);
  }

  /** Names of the present fields, in the order they were first set. */
  presentFields(): string[] {
    return [...this.values.keys()].filter((k) => this.has(k));
  }

  /** The raw value (array for repeated fields), or undefined when absent. */
  raw(name: string): FieldValue | FieldValue[] | undefined {
    return this.values.get(name);
  }

  /** A singular numeric field, or its default (0 when the schema gives none). */
  num(name: string): number {
    const f = this.field(name);
    const v = this.values.get(name);
    if (v !== undefined && !Array.isArray(v)) {
      if (typeof v !== 'number') throw new Error(`${this.spec.name}.${name} is not numeric`);
      return v;
    }
    return typeof f.defaultValue === 'number' ? f.defaultValue : 0;
  }

  /** A repeated numeric field (empty when absent). */
  nums(name: string): number[] {
    this.field(name);
    const v = this.values.get(name);
    return Array.isArray(v) ? (v as number[]) : [];
  }

  /** A singular string or enum field, or its default ('' / the enum's first value). */
  str(name: string): string {
    const f = this.field(name);
    const v = this.values.get(name);
    if (v !== undefined && !Array.isArray(v)) {
      if (typeof v !== 'string') throw new Error(`${this.spec.name}.${name} is not a string`);
      return v;
    }
    if (typeof f.defaultValue === 'string') return f.defaultValue;
    if (f.kind === 'enum' && f.typeName !== undefined) {
      // proto2: the default of an enum field without [default] is its first declared value.
      const first = this.schema.enum(f.typeName).byName.keys().next();
      return first.done === true ? '' : first.value;
    }
    return '';
  }

  /** A repeated string or enum field (empty when absent). */
  strs(name: string): string[] {
    this.field(name);
    const v = this.values.get(name);
    return Array.isArray(v) ? (v as string[]) : [];
  }

  /** A singular bool field, or its default (false when the schema gives none). */
  bool(name: string): boolean {
    const f = this.field(name);
    const v = this.values.get(name);
    if (v !== undefined && !Array.isArray(v)) return v === true;
    return f.defaultValue === true;
  }

  /** A singular message field, or undefined when absent. */
  msg(name: string): Message | undefined {
    this.field(name);
    const v = this.values.get(name);
    return v instanceof Message ? v : undefined;
  }

  /** A singular message field, or an empty message of its type (all defaults) when absent. */
  sub(name: string): Message {
    const f = this.field(name);
    const present = this.msg(name);
    if (present !== undefined) return present;
    if (f.typeName === undefined) throw new Error(`${this.spec.name}.${name} is not a message`);
    return new Message(this.schema, this.schema.message(f.typeName));
  }

  /** A repeated message field (empty when absent). */
  msgs(name: string): Message[] {
    this.field(name);
    const v = this.values.get(name);
    return Array.isArray(v) ? (v as Message[]) : [];
  }

  /** Plain-object form of the present fields (for --json output and tests). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const name of this.presentFields()) {
      const v = this.values.get(name);
      const plain = (x: FieldValue): unknown =>
        x instanceof Message ? x.toJSON() : x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x;
      out[name] = Array.isArray(v) ? v.map(plain) : plain(v as FieldValue);
    }
    return out;
  }
}
