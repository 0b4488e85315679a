/**
 * Schema machinery for protobuf messages: field and message descriptions, built from a compact
 * table (see caffe_schema.ts for Caffe's messages) and checked once when the table loads.
 * Both the text-format parser and the binary (wire-format) reader are driven by a Schema.
 */

/** Protobuf scalar kinds that Caffe's messages use. */
export type ScalarKind =
  | 'double'
  | 'float'
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'uint64'
  | 'sint32'
  | 'sint64'
  | 'fixed32'
  | 'fixed64'
  | 'sfixed32'
  | 'sfixed64'
  | 'bool'
  | 'string'
  | 'bytes';

const SCALAR_KINDS: ReadonlySet<string> = new Set<ScalarKind>([
  'double',
  'float',
  'int32',
  'int64',
  'uint32',
  'uint64',
  'sint32',
  'sint64',
  'fixed32',
  'fixed64',
  'sfixed32',
  'sfixed64',
  'bool',
  'string',
  'bytes',
]);

/** Default value of a field as written in the table: number, enum value name, string or bool. */
export type DefaultValue = number | string | boolean;

/** Options of one field in the compact table. */
export interface FieldOptions {
  /** `repeated` field. */
  readonly repeated?: boolean;
  /** Repeated numeric field declared `[packed = true]` (the binary writer packs it). */
  readonly packed?: boolean;
  /** Declared default (`[default = ...]`); enum defaults by value name. */
  readonly default?: DefaultValue;
}

/**
 * One field in the compact table: name, field number, type, options. The type is a scalar kind,
 * or the full name of an enum or message in the same table (`'PoolingParameter.PoolMethod'`).
 */
export type FieldDecl = readonly [name: string, number: number, type: string, options?: FieldOptions];

/** A schema table: enums by full name (value name -> number) and messages by name. */
export interface SchemaSource {
  readonly enums: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly messages: Readonly<Record<string, readonly FieldDecl[]>>;
}

/** A resolved field. */
export interface FieldSpec {
  readonly name: string;
  readonly number: number;
  /** Scalar kind, or 'enum' / 'message' with `typeName` naming which. */
  readonly kind: ScalarKind | 'enum' | 'message';
  readonly typeName?: string;
  readonly repeated: boolean;
  readonly packed: boolean;
  readonly defaultValue?: DefaultValue;
  /** The message this field belongs to. */
  readonly owner: string;
}

/** A resolved message: its fields by name and by number, in table order. */
export interface MessageSpec {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  readonly byName: ReadonlyMap<string, FieldSpec>;
  readonly byNumber: ReadonlyMap<number, FieldSpec>;
}

/** A resolved enum: value numbers by name and names by number. */
export interface EnumSpec {
  readonly name: string;
  readonly byName: ReadonlyMap<string, number>;
  readonly byNumber: ReadonlyMap<number, string>;
}

/** A checked set of messages and enums. */
export class Schema {
  private readonly messageMap = new Map<string, MessageSpec>();
  private readonly enumMap = new Map<string, EnumSpec>();

  /** Resolves and checks a table; throws Error on a malformed table (a bug in this package). */
  constructor(source: SchemaSource) {
    for (const [name, values] of Object.entries(source.enums)) {
      const byName = new Map<string, number>();
      const byNumber = new Map<number, string>();
      for (const [valueName, number] of Object.entries(values)) {
        byName.set(valueName, number);
        // Aliases (two names, one number) keep the first name as the canonical one.
        if (!byNumber.has(number)) byNumber.set(number, valueName);
      }
      this.enumMap.set(name, { name, byName, byNumber });
    }
    for (const [name, decls] of Object.entries(source.messages)) {
      this.messageMap.set(
        name,
        this.resolveMessage(name, decls, (fieldName, type) => {
          const kind = SCALAR_KINDS.has(type)
            ? (type as ScalarKind)
            : source.enums[type] !== undefined
              ? 'enum'
              : source.messages[type] !== undefined
                ? 'message'
                : undefined;
          if (kind === undefined) throw new Error(`schema: ${name}.${fieldName} has unknown type ${type}`);
          return kind;
        }),
      );
    }
  }

  /**
   * One message's fields, resolved and checked: names and numbers unique, packed only on repeated
   * numeric fields, enum defaults among the enum's values. `kindOf` gives a field's kind from its
   * type name or throws naming the field.
   */
  private resolveMessage(
    name: string,
    decls: readonly FieldDecl[],
    kindOf: (fieldName: string, type: string) => FieldSpec['kind'],
  ): MessageSpec {
    const fields: FieldSpec[] = [];
    const byName = new Map<string, FieldSpec>();
    const byNumber = new Map<number, FieldSpec>();
    for (const [fieldName, number, type, options = {}] of decls) {
      const kind = kindOf(fieldName, type);
      if (byName.has(fieldName)) throw new Error(`schema: ${name}.${fieldName} declared twice`);
      if (byNumber.has(number)) throw new Error(`schema: ${name} reuses field number ${number}`);
      const spec: FieldSpec = {
        name: fieldName,
        number,
        kind,
        typeName: kind === 'enum' || kind === 'message' ? type : undefined,
        repeated: options.repeated === true,
        packed: options.packed === true,
        defaultValue: options.default,
        owner: name,
      };
      if (spec.packed && (!spec.repeated || kind === 'message' || kind === 'string' || kind === 'bytes')) {
        throw new Error(`schema: ${name}.${fieldName} cannot be packed`);
      }
      if (kind === 'enum' && options.default !== undefined && !this.enumMap.get(type)?.byName.has(String(options.default))) {
        throw new Error(`schema: ${name}.${fieldName} default ${String(options.default)} is not in ${type}`);
      }
      fields.push(spec);
      byName.set(fieldName, spec);
      byNumber.set(number, spec);
    }
    return { name, fields, byName, byNumber };
  }

  /**
   * Adds a message of scalar fields (a plugin layer's parameters) and a field of that type to
   * message `owner` (LayerParameter). Throws Error naming the clash when either name or the field
   * number is taken, or when the message exists with other fields; adding the same message and
   * field again is a no-op. `check`: only checks, changes nothing.
   */
  extend(owner: string, field: FieldDecl, message: { readonly name: string; readonly fields: readonly FieldDecl[] }, check = false): void {
    const target = this.message(owner);
    const [fieldName, number] = field;
    const existing = target.byName.get(fieldName);
    const describe = (decls: ReadonlyArray<readonly [string, number, string, unknown?]>) =>
      JSON.stringify(decls.map(([n, k, t, o]) => [n, k, t, (o as FieldOptions | undefined)?.default ?? null]));
    if (existing !== undefined && existing.typeName === message.name && existing.number === number) {
      const have = this.message(message.name).fields.map((f) => [f.name, f.number, f.kind, { default: f.defaultValue }] as const);
      if (describe(have) !== describe(message.fields)) {
        throw new Error(`${message.name} exists with other fields (${describe(have)}); a process keeps a parameter message once defined`);
      }
      return;
    }
    if (existing !== undefined) throw new Error(`${owner} already has a field named ${fieldName}`);
    const byNumber = target.byNumber.get(number);
    if (byNumber !== undefined) throw new Error(`${owner} field number ${number} is taken by ${byNumber.name}`);
    if (this.messageMap.has(message.name)) throw new Error(`a message named ${message.name} exists`);
    const resolved = this.resolveMessage(message.name, message.fields, (name, type) => {
      if (!SCALAR_KINDS.has(type)) throw new Error(`${message.name}.${name}: type ${type} is not a scalar type`);
      return type as ScalarKind;
    });
    if (check) return;
    this.messageMap.set(message.name, resolved);
    const spec: FieldSpec = { name: fieldName, number, kind: 'message', typeName: message.name, repeated: false, packed: false, owner };
    (target.fields as FieldSpec[]).push(spec);
    (target.byName as Map<string, FieldSpec>).set(fieldName, spec);
    (target.byNumber as Map<number, FieldSpec>).set(number, spec);
  }

  /** The message of that name; throws Error when the table has none (a bug in this package). */
  message(name: string): MessageSpec {
    const spec = this.messageMap.get(name);
    if (spec === undefined) throw new Error(`schema: no message ${name}`);
    return spec;
  }

  /** The enum of that name; throws Error when the table has none (a bug in this package). */
  enum(name: string): EnumSpec {
    const spec = this.enumMap.get(name);
    if (spec === undefined) throw new Error(`schema: no enum ${name}`);
    return spec;
  }

  /** True when the table has a message of that name. */
  hasMessage(name: string): boolean {
    return this.messageMap.has(name);
  }

  /** Every message name, in table order. */
  messageNames(): string[] {
    return [...this.messageMap.keys()];
  }
}
