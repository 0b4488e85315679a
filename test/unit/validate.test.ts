// lib/validate.ts: the checkers the entry points compose. Wrong type is a TypeError, right type out
// of range a RangeError, both in the one message form naming the option and what to pass.
import { strict as assert } from 'assert';
import {
  arrayOf,
  boolean,
  choices,
  finiteNumber,
  instanceOf,
  integer,
  knownKeys,
  nonEmptyString,
  object,
  oneOf,
  optional,
  plainObject,
  recordOf,
  typedArray,
} from '../../lib/validate';

function throwsWith(f: () => unknown, name: 'TypeError' | 'RangeError', message: string): void {
  assert.throws(f, { name, message });
}

describe('validate', () => {
  it('integer: TypeError for a non-number, RangeError out of [min, max] or fractional; describes its bounds', () => {
    const batch = integer({ min: 1, max: 8 });
    assert.equal(batch(4, 'batch'), 4);
    throwsWith(() => batch('4', 'batch'), 'TypeError', 'Expected an integer in [1, 8] for batch but received type string ("4")');
    throwsWith(() => batch(9, 'batch'), 'RangeError', 'Expected an integer in [1, 8] for batch but received type number (9)');
    throwsWith(() => batch(1.5, 'batch'), 'RangeError', 'Expected an integer in [1, 8] for batch but received type number (1.5)');
    throwsWith(() => integer({ min: 1 })(0, 'n'), 'RangeError', 'Expected a positive integer for n but received type number (0)');
    throwsWith(() => integer({ min: 0 })(-1, 'n'), 'RangeError', 'Expected an integer >= 0 for n but received type number (-1)');
    throwsWith(
      () => integer({ min: 1, max: 4, typeWhat: 'a positive integer' })(null, 'n'),
      'TypeError',
      'Expected a positive integer for n but received null',
    );
  });

  it('finiteNumber: open and closed lower bounds, NaN and Infinity out of range', () => {
    const fraction = finiteNumber({ min: 0, minExclusive: true, max: 1 });
    assert.equal(fraction(1, 'q'), 1);
    throwsWith(() => fraction(0, 'q'), 'RangeError', 'Expected a number in (0, 1] for q but received type number (0)');
    throwsWith(
      () => finiteNumber({ min: 0, minExclusive: true })(NaN, 's'),
      'RangeError',
      'Expected a positive number for s but received type number (NaN)',
    );
    throwsWith(() => finiteNumber()(Infinity, 's'), 'RangeError', 'Expected a finite number for s but received type number (Infinity)');
    throwsWith(() => finiteNumber()('1', 's'), 'TypeError', 'Expected a finite number for s but received type string ("1")');
  });

  it('oneOf lists the choices; boolean, nonEmptyString, instanceOf', () => {
    assert.equal(choices(['a', 'b', 'c']), "'a', 'b' or 'c'");
    assert.equal(oneOf(['fp32', 'int8'])('int8', 'p'), 'int8');
    throwsWith(
      () => oneOf(['fp32', 'int8'])('fp64', 'p'),
      'TypeError',
      "Expected 'fp32' or 'int8' for p but received type string (\"fp64\")",
    );
    throwsWith(() => boolean(1, 'b'), 'TypeError', 'Expected a boolean for b but received type number (1)');
    throwsWith(() => nonEmptyString('a file path')('', 'f'), 'TypeError', 'Expected a file path for f but received type string ("")');
    throwsWith(
      () => instanceOf(Uint8Array, 'a plan')([], 'plan'),
      'TypeError',
      'Expected a plan for plan but received an Array of length 0',
    );
  });

  it('arrayOf names the failing item, or the whole array with reportWhole; length bounds', () => {
    const dims = arrayOf(integer({ min: 1 }), { what: 'an array of positive integers', minLength: 1 });
    assert.deepEqual(dims([2, 3], 'dims'), [2, 3]);
    throwsWith(() => dims([2, 0], 'dims'), 'RangeError', 'Expected a positive integer for dims[1] but received type number (0)');
    throwsWith(() => dims([], 'dims'), 'RangeError', 'Expected an array of positive integers for dims but received an Array of length 0');
    const whole = arrayOf(integer({ min: 1 }), { what: '[h, w]', minLength: 2, maxLength: 2, reportWhole: true });
    throwsWith(() => whole([2, 0], 'size'), 'TypeError', 'Expected [h, w] for size but received an Array of length 2');
    throwsWith(() => whole('2x2', 'size'), 'TypeError', 'Expected [h, w] for size but received type string ("2x2")');
  });

  it('typedArray checks the type and the length', () => {
    const pixels = typedArray(Uint8Array, 4);
    throwsWith(() => pixels(new Float32Array(4), 'x'), 'TypeError', 'Expected a Uint8Array for x but received an instance of Float32Array');
    throwsWith(
      () => pixels(new Uint8Array(3), 'x'),
      'RangeError',
      'Expected a Uint8Array of 4 elements for x but received an instance of Uint8Array',
    );
  });

  it('object checks each field by its dotted name, keeps the object, and with exact refuses unknown keys', () => {
    const check = object<{ device?: number; verbose?: boolean }>(
      { device: optional(integer({ min: 0 })), verbose: optional(boolean) },
      { exact: true },
    );
    const given = { device: 1 };
    assert.equal(check(given, 'options'), given);
    throwsWith(
      () => check({ device: -1 }, 'options'),
      'RangeError',
      'Expected an integer >= 0 for options.device but received type number (-1)',
    );
    throwsWith(
      () => check({ devcie: 1 }, 'options'),
      'RangeError',
      "Expected 'device' or 'verbose' for options.devcie but received type string (\"devcie\")",
    );
    throwsWith(() => check([], 'options'), 'TypeError', 'Expected an options object for options but received an Array of length 0');
    assert.deepEqual(object({}, { allowArray: true })([], 'options'), []);
  });

  it('recordOf, plainObject and knownKeys', () => {
    const scales = recordOf(finiteNumber({ min: 0, minExclusive: true }), 'an object of scales by tensor name');
    assert.deepEqual(scales({ data: 0.5 }, 's'), { data: 0.5 });
    throwsWith(() => scales({ data: -1 }, 's'), 'RangeError', 'Expected a positive number for s.data but received type number (-1)');
    throwsWith(() => plainObject('an object')(null, 'o'), 'TypeError', 'Expected an object for o but received null');
    throwsWith(
      () => knownKeys({ x: 1 }, ['data'], 'inputs', 'an input name (data)'),
      'RangeError',
      'Expected an input name (data) for inputs.x but received type string ("x")',
    );
  });
});
