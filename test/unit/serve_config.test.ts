/** lib/serve/config.ts and repository.ts: config.pbtxt's supported subset, errors that name the field. */
import { strict as assert } from 'assert';
import * as path from 'path';
import { parseModelConfig } from '../../lib/serve/config';
import { readModel } from '../../lib/serve/repository';
import { fails } from '../support/helpers';
import { addModel, lenetConfig, LENET, tempRepo } from '../support/serve_repo';

describe('serve: config.pbtxt', () => {
  it('reads the supported subset', () => {
    const c = parseModelConfig(
      lenetConfig(
        'm',
        [
          'dynamic_batching { preferred_batch_size: [ 4, 2 ] max_queue_delay_microseconds: 100',
          '  default_queue_policy { max_queue_size: 16 default_timeout_microseconds: 5000 } }',
          'instance_group [ { count: 2 kind: KIND_GPU gpus: [ 0, 1 ] } ]',
        ].join('\n'),
      ),
      'config.pbtxt',
      'm',
    );
    assert.equal(c.name, 'm');
    assert.equal(c.maxBatchSize, 8);
    assert.deepEqual(c.inputs, [{ name: 'data', dataType: 'FP32', format: 'FORMAT_NCHW', dims: [1, 28, 28] }]);
    assert.deepEqual(c.outputs, [{ name: 'prob', dataType: 'FP32', dims: [10] }]);
    assert.deepEqual(c.dynamicBatching, {
      preferredBatchSizes: [2, 4],
      maxQueueDelayUs: 100,
      maxQueueSize: 16,
      defaultTimeoutUs: 5000,
      allowTimeoutOverride: true,
    });
    assert.deepEqual(c.instanceGroups, [{ count: 2, kind: 'KIND_GPU', gpus: [0, 1] }]);
    assert.equal(c.parameters.prototxt, LENET);
    assert.equal(c.parameters.backend, 'cpu');
  });

  it('names an unsupported field, top level or nested', () => {
    assert.throws(
      () => parseModelConfig('name: "m"\nmax_batch_size: 1\nsequence_batching { }', 'c.pbtxt', 'm'),
      /c\.pbtxt:3:1: field 'sequence_batching' of ModelConfig is not supported by tensorrt-node serve \(supported: name, /,
    );
    assert.throws(
      () => parseModelConfig('max_batch_size: 1\ninput { name: "x" reshape { shape: 1 } }', 'c.pbtxt', 'm'),
      /field 'reshape' of ModelInput is not supported/,
    );
  });

  it('refuses parameters, types and values it cannot serve', () => {
    assert.throws(
      () => parseModelConfig('max_batch_size: 1\nparameters { key: "colour" value { string_value: "x" } }', 'c', 'm'),
      /parameters key 'colour' is not supported \(supported: prototxt, /,
    );
    assert.throws(
      () => parseModelConfig('max_batch_size: 1\ninput { name: "x" data_type: TYPE_INT64 }', 'c', 'm'),
      /TYPE_INT64 is not one an engine takes/,
    );
    assert.throws(() => parseModelConfig('max_batch_size: 0', 'c', 'm'), /max_batch_size must be at least 1/);
    assert.throws(
      () => parseModelConfig('name: "other"\nmax_batch_size: 1', 'c', 'm'),
      /name 'other' differs from the model folder's name 'm'/,
    );
    assert.throws(
      () => parseModelConfig('max_batch_size: 4\ndynamic_batching { preferred_batch_size: 8 }', 'c', 'm'),
      /preferred_batch_size 8 is outside/,
    );
  });

  it('resolves a model folder: newest version, prototxt parameter, labels', async () => {
    const repo = await tempRepo();
    await addModel(repo, 'lenet', lenetConfig('lenet'), ['zero', 'one']);
    const m = await readModel(repo, 'lenet');
    assert.deepEqual(m.files, { kind: 'caffe', prototxt: LENET });
    assert.deepEqual(m.labels, ['zero', 'one']);
    await addModel(repo, 'empty', 'max_batch_size: 1');
    await fails(readModel(repo, 'empty'), 'E_INVALID_ARGUMENT', 'no engine', path.join(repo, 'empty', '1'));
    await fails(readModel(repo, '../etc'), 'E_INVALID_ARGUMENT', 'not a model name');
    await fails(readModel(repo, 'absent'), 'E_IO', 'config.pbtxt');
  });
});
