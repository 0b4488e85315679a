/**
 * Argument validation: small checkers the public entry points compose into their option checks
 * (sharp's style: check in TS, once, before anything reaches C++). Every failure is the package's
 * one argument error (`argumentError` in errors.ts): a TypeError for a value of the wrong type, a
 * RangeError for one of the right type out of range, both `Expected <what> for <name> but
 * received <value>`, where <what> says what to pass instead.
 *
 *   const checkOptions = object({ device: optional(integer({ min: 0 })), verbose: optional(boolean) });
 *   const { device } = checkOptions(options, 'options');
 */
import { argumentError } from './errors';

/** Checks `value`, which the caller calls `name`, and returns it typed, or throws the argument error. */
export type Checker<T> = (value: unknown, name: string) => T;

/** The type a checker returns. */
export type Checked<C> = C extends Checker<infer T> ? T : never;

/** Bounds and wording of a numeric checker. */
export interface NumberBounds {
  /** Smallest allowed value (default -Infinity). */
  readonly min?: number;
  /** Largest allowed value (default Infinity). */
  readonly max?: number;
  /** `min` itself is refused: (min, max]. */
  readonly minExclusive?: boolean;
  /** What to pass, for the message (default: described from the bounds). */
  readonly what?: string;
  /** What to pass when the value is not a number at all (default: `what`). */
  readonly typeWhat?: string;
}

/** 'a', 'b' or 'c', each quoted: the choices of a message. */
export function choices(values: readonly (string | number)[]): string {
  const quoted = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)));
  return quoted.length < 2 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}

function describeInteger(min: number, max: number): string {
  if (max !== Infinity) return `an integer in [${min}, ${max}]`;
  if (min === 1) return 'a positive integer';
  if (min === 0) return 'an integer >= 0';
  return min === -Infinity ? 'an integer' : `an integer >= ${min}`;
}

function describeNumber(min: number, max: number, minExclusive: boolean): string {
  if (min === 0 && max === Infinity) return minExclusive ? 'a positive number' : 'a finite number >= 0';
  if (max === Infinity) return min === -Infinity ? 'a finite number' : `a number ${minExclusive ? '>' : '>='} ${min}`;
  return `a number in ${minExclusive ? '(' : '['}${min}, ${max}]`;
}

/** An integer (a number with no fraction) in [min, max]. */
export function integer(bounds: NumberBounds = {}): Checker<number> {
  const { min = -Infinity, max = Infinity } = bounds;
  const what = bounds.what ?? describeInteger(min, max);
  return (value, name) => {
    if (typeof value !== 'number') throw argumentError(bounds.typeWhat ?? what, name, value);
    if (!Number.isInteger(value) || value < min || value > max) throw argumentError(what, name, value, 'range');
    return value;
  };
}

/** A finite number in [min, max] (or (min, max] with minExclusive). */
export function finiteNumber(bounds: NumberBounds = {}): Checker<number> {
  const { min = -Infinity, max = Infinity, minExclusive = false } = bounds;
  const what = bounds.what ?? describeNumber(min, max, minExclusive);
  return (value, name) => {
    if (typeof value !== 'number') throw argumentError(bounds.typeWhat ?? what, name, value);
    const above = minExclusive ? value > min : value >= min;
    if (!Number.isFinite(value) || !above || value > max) throw argumentError(what, name, value, 'range');
    return value;
  };
}

/** One of the given strings (or numbers); anything else is a TypeError listing them. */
export function oneOf<T extends string | number>(values: readonly T[], what: string = choices(values)): Checker<T> {
  return (value, name) => {
    if (!values.includes(value as T)) throw argumentError(what, name, value);
    return value as T;
  };
}

/** A boolean. */
export const boolean: Checker<boolean> = (value, name) => {
  if (typeof value !== 'boolean') throw argumentError('a boolean', name, value);
  return value;
};

/** A non-empty string (`what` says which: 'a file path', 'a path string'). */
export function nonEmptyString(what = 'a non-empty string'): Checker<string> {
  return (value, name) => {
    if (typeof value !== 'string' || value === '') throw argumentError(what, name, value);
    return value;
  };
}

/** A string (maybe empty). */
export function string(what = 'a string'): Checker<string> {
  return (value, name) => {
    if (typeof value !== 'string') throw argumentError(what, name, value);
    return value;
  };
}

/** A function. */
export function func<F extends (...args: never[]) => unknown>(what = 'a function'): Checker<F> {
  return (value, name) => {
    if (typeof value !== 'function') throw argumentError(what, name, value);
    return value as F;
  };
}

/** An instance of `ctor`. */
export function instanceOf<T>(ctor: abstract new (...args: never[]) => T, what = `a ${ctor.name}`): Checker<T> {
  return (value, name) => {
    if (!(value instanceof ctor)) throw argumentError(what, name, value);
    return value;
  };
}

/** `check`, or undefined passed through. */
export function optional<T>(check: Checker<T>): Checker<T | undefined> {
  return (value, name) => (value === undefined ? undefined : check(value, name));
}

/** A plain object (not null, not an array); `what` names it: 'an options object'. */
export function plainObject(what = 'an object'): Checker<Record<string, unknown>> {
  return (value, name) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw argumentError(what, name, value);
    return value as Record<string, unknown>;
  };
}

/** Any object but null (arrays included): the loose check of options objects that were never stricter. */
export function anyObject(what = 'an options object'): Checker<Record<string, unknown>> {
  return (value, name) => {
    if (value === null || typeof value !== 'object') throw argumentError(what, name, value);
    return value as Record<string, unknown>;
  };
}

/** Options of `arrayOf`. */
export interface ArrayBounds {
  /** What to pass, for the message when the value is not an array or has a bad item. */
  readonly what: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  /** Items failing the item check report the whole array with `what` (default: the item, named `name[i]`). */
  readonly reportWhole?: boolean;
}

/** An array whose items each pass `item` (named `name[i]`), of a length in [minLength, maxLength]. */
export function arrayOf<T>(item: Checker<T>, bounds: ArrayBounds): Checker<T[]> {
  const { what, minLength = 0, maxLength = Infinity, reportWhole = false } = bounds;
  return (value, name) => {
    if (!Array.isArray(value)) throw argumentError(what, name, value);
    if (value.length < minLength || value.length > maxLength) throw argumentError(what, name, value, reportWhole ? 'type' : 'range');
    if (!reportWhole) return value.map((v: unknown, i) => item(v, `${name}[${i}]`));
    // The whole array is reported: the items' own names are never shown, so none is built (Tensor
    // dims are checked on every run() result).
    const out: T[] = new Array<T>(value.length);
    try {
      for (let i = 0; i < value.length; i++) out[i] = item(value[i], name);
    } catch {
      throw argumentError(what, name, value);
    }
    return out;
  };
}

/** The typed arrays checkers can ask for. */
export type TypedArrayConstructor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Uint16ArrayConstructor
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Int32ArrayConstructor;

/** A typed array of `ctor`'s type, of exactly `length` elements when given. */
export function typedArray<C extends TypedArrayConstructor>(ctor: C, length?: number, what = `a ${ctor.name}`): Checker<InstanceType<C>> {
  return (value, name) => {
    if (!(value instanceof ctor)) throw argumentError(what, name, value);
    if (length !== undefined && value.length !== length) throw argumentError(`${what} of ${length} elements`, name, value, 'range');
    return value as InstanceType<C>;
  };
}

/** A plain object whose every value passes `item` (named `name.key`): a record by name. */
export function recordOf<T>(item: Checker<T>, what: string): Checker<Record<string, T>> {
  const isObject = plainObject(what);
  return (value, name) => {
    const o = isObject(value, name);
    const out: Record<string, T> = {};
    for (const [key, v] of Object.entries(o)) out[key] = item(v, `${name}.${key}`);
    return out;
  };
}

/** Refuses keys of `o` outside `known`: a RangeError naming the key and (by default) the known ones. */
export function knownKeys(o: object, known: readonly string[], name: string, what: string | (() => string) = () => choices(known)): void {
  for (const key of Object.keys(o)) {
    if (!known.includes(key)) throw argumentError(typeof what === 'function' ? what() : what, `${name}.${key}`, key, 'range');
  }
}

/** Options of `object`. */
export interface ObjectOptions {
  /** What to pass when the value is not an object (default 'an options object'). */
  readonly what?: string;
  /** Refuse keys the fields do not name (default false: extra keys pass through untouched). */
  readonly exact?: boolean;
  /** Accept arrays too (the loose check some entry points always had). */
  readonly allowArray?: boolean;
}

/** The checkers of an object's fields, by field name. */
export type FieldCheckers<T> = { readonly [K in keyof T]-?: Checker<T[K]> };

/**
 * An object whose fields each pass their checker (named `name.field`), in the order given; with
 * `exact`, other keys are refused. Returns the object itself (no copy: entry points on the
 * inference path use this per call).
 */
export function object<T extends object>(fields: FieldCheckers<T>, options: ObjectOptions = {}): Checker<T> {
  const isObject = options.allowArray ? anyObject(options.what) : plainObject(options.what ?? 'an options object');
  const keys = Object.keys(fields) as Array<keyof T & string>;
  // The fields' names (`name.field`) for the last `name` seen: entry points on the inference path
  // check their options per call, always under the same name, so no string is built per call.
  let lastName: string | undefined;
  let fieldNames: string[] = [];
  return (value, name) => {
    const o = isObject(value, name);
    if (options.exact) knownKeys(o, keys, name);
    if (name !== lastName) {
      fieldNames = keys.map((key) => `${name}.${key}`);
      lastName = name;
    }
    for (let i = 0; i < keys.length; i++) fields[keys[i]](o[keys[i]], fieldNames[i]);
    return o as T;
  };
}
