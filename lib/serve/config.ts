/**
 * A model's config.pbtxt in Triton's layout: the subset tensorrt-node serve supports, read with the
 * package's protobuf text reader (lib/caffe/text_format.ts) against a schema of that subset, then
 * checked into a plain `ModelConfig`. A field outside the subset is an E_PARSE error naming it.
 */
import { ParseError, TensorRTNodeError } from '../errors';
import type { Message } from '../caffe/message';
import { Schema, type SchemaSource } from '../caffe/schema';
import { parseTextFormat } from '../caffe/text_format';

/** Triton's tensor data types (model_config.proto's DataType; field numbers are the protocol's). */
const DATA_TYPES: Readonly<Record<string, number>> = {
  TYPE_INVALID: 0,
  TYPE_BOOL: 1,
  TYPE_UINT8: 2,
  TYPE_UINT16: 3,
  TYPE_UINT32: 4,
  TYPE_UINT64: 5,
  TYPE_INT8: 6,
  TYPE_INT16: 7,
  TYPE_INT32: 8,
  TYPE_INT64: 9,
  TYPE_FP16: 10,
  TYPE_FP32: 11,
  TYPE_FP64: 12,
  TYPE_STRING: 13,
  TYPE_BF16: 14,
};

/** The subset of Triton's ModelConfig that serve reads. */
const SOURCE: SchemaSource = {
  enums: {
    DataType: DATA_TYPES,
    Format: { FORMAT_NONE: 0, FORMAT_NHWC: 1, FORMAT_NCHW: 2 },
    Kind: { KIND_AUTO: 0, KIND_GPU: 1, KIND_CPU: 2, KIND_MODEL: 3 },
  },
  messages: {
    ModelConfig: [
      ['name', 1, 'string'],
      ['platform', 2, 'string'],
      ['max_batch_size', 4, 'int32'],
      ['input', 5, 'ModelInput', { repeated: true }],
      ['output', 6, 'ModelOutput', { repeated: true }],
      ['instance_group', 7, 'ModelInstanceGroup', { repeated: true }],
      ['dynamic_batching', 11, 'ModelDynamicBatching'],
      ['parameters', 14, 'ParameterEntry', { repeated: true }],
      ['backend', 17, 'string'],
    ],
    ModelInput: [
      ['name', 1, 'string'],
      ['data_type', 2, 'DataType'],
      ['format', 3, 'Format'],
      ['dims', 4, 'int64', { repeated: true }],
    ],
    ModelOutput: [
      ['name', 1, 'string'],
      ['data_type', 2, 'DataType'],
      ['dims', 3, 'int64', { repeated: true }],
      ['label_filename', 4, 'string'],
    ],
    ModelInstanceGroup: [
      ['name', 1, 'string'],
      ['count', 2, 'int32'],
      ['gpus', 3, 'int32', { repeated: true }],
      ['kind', 4, 'Kind'],
    ],
    ModelDynamicBatching: [
      ['preferred_batch_size', 1, 'int32', { repeated: true }],
      ['max_queue_delay_microseconds', 2, 'uint64'],
      ['default_queue_policy', 6, 'ModelQueuePolicy'],
    ],
    ModelQueuePolicy: [
      ['default_timeout_microseconds', 2, 'uint64'],
      ['allow_timeout_override', 3, 'bool'],
      ['max_queue_size', 4, 'uint32'],
    ],
    ParameterEntry: [
      ['key', 1, 'string'],
      ['value', 2, 'ModelParameter'],
    ],
    ModelParameter: [['string_value', 1, 'string']],
  },
};

const SCHEMA = new Schema(SOURCE);

/** Our own `parameters` keys (Triton leaves their meaning to the backend). */
export const MODEL_PARAMETERS = [
  'prototxt',
  'caffemodel',
  'precision',
  'calibration_cache',
  'backend',
  'seed',
  'input_format',
  'mean',
  'scale',
  'image_size',
  'network_order',
] as const;
/** One of MODEL_PARAMETERS. */
export type ModelParameterKey = (typeof MODEL_PARAMETERS)[number];

/** KServe's data type names, for the Triton types an engine can take or give. */
export type WireDType = 'FP32' | 'FP16' | 'UINT8';

/** A tensor as the config declares it (dims without the batch). */
export interface TensorConfig {
  readonly name: string;
  readonly dataType?: WireDType;
  readonly format?: 'FORMAT_NONE' | 'FORMAT_NHWC' | 'FORMAT_NCHW';
  readonly dims?: readonly number[];
  readonly labelFilename?: string;
}

/** One instance_group entry. */
export interface InstanceGroupConfig {
  readonly count: number;
  readonly kind: 'KIND_AUTO' | 'KIND_GPU' | 'KIND_CPU';
  /** GPUs the group's instances go on (empty: the server's --gpus, else GPU 0). */
  readonly gpus: readonly number[];
}

/** dynamic_batching, with the queue policy. */
export interface DynamicBatchingConfig {
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueDelayUs: number;
  /** 0: the server's default bound. */
  readonly maxQueueSize: number;
  /** 0: no default timeout. */
  readonly defaultTimeoutUs: number;
  readonly allowTimeoutOverride: boolean;
}

/** A checked config.pbtxt. */
export interface ModelConfig {
  readonly name: string;
  readonly maxBatchSize: number;
  readonly inputs: readonly TensorConfig[];
  readonly outputs: readonly TensorConfig[];
  readonly instanceGroups: readonly InstanceGroupConfig[];
  /** Undefined: every request runs on its own (Triton's default scheduler). */
  readonly dynamicBatching?: DynamicBatchingConfig;
  readonly parameters: Readonly<Partial<Record<ModelParameterKey, string>>>;
}

const WIRE_OF: Readonly<Record<string, WireDType>> = { TYPE_FP32: 'FP32', TYPE_FP16: 'FP16', TYPE_UINT8: 'UINT8' };

/** A config mistake found after parsing: E_PARSE naming the file and the field. */
function configError(file: string, message: string): TensorRTNodeError {
  return new TensorRTNodeError('E_PARSE', `${file}: ${message}`);
}

/** The parser's unknown-field error, restated as "not supported here" with the supported names. */
function unsupportedField(err: unknown): unknown {
  if (!(err instanceof ParseError)) return err;
  const m = /^unknown field '([^']+)' in (\w+)/.exec(err.problem);
  if (m === null) return err;
  const known = [...SCHEMA.message(m[2]).byName.keys()].join(', ');
  return new ParseError(err.position, `field '${m[1]}' of ${m[2]} is not supported by tensorrt-node serve (supported: ${known})`, m[1], '');
}

/** Parses config.pbtxt text; `file` names it in errors; `folderName` is the model folder's name. */
export function parseModelConfig(text: string, file: string, folderName: string): ModelConfig {
  let message: Message;
  try {
    ({ message } = parseTextFormat(SCHEMA, 'ModelConfig', text, { file }));
  } catch (err) {
    throw unsupportedField(err);
  }
  return checkConfig(message, file, folderName);
}

function checkConfig(m: Message, file: string, folderName: string): ModelConfig {
  const name = m.has('name') ? m.str('name') : folderName;
  if (name !== folderName) throw configError(file, `name '${name}' differs from the model folder's name '${folderName}'`);
  const platform = m.str('platform');
  if (platform !== '' && platform !== 'tensorrt_plan' && platform !== 'tensorrt-node') {
    throw configError(file, `platform '${platform}' is not served here (tensorrt_plan or tensorrt-node)`);
  }
  const backend = m.str('backend');
  if (backend !== '' && backend !== 'tensorrt' && backend !== 'tensorrt-node') {
    throw configError(
      file,
      `backend '${backend}' is not served here (tensorrt or tensorrt-node; parameters { key: "backend" } picks cpu, cuda or tensorrt)`,
    );
  }
  const maxBatchSize = m.num('max_batch_size');
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
    throw configError(file, `max_batch_size must be at least 1 (Caffe networks batch in dimension 0), got ${maxBatchSize}`);
  }
  return {
    name,
    maxBatchSize,
    inputs: m.msgs('input').map((t) => tensorConfig(t, file, 'input')),
    outputs: m.msgs('output').map((t) => tensorConfig(t, file, 'output')),
    instanceGroups: m.msgs('instance_group').map((g) => instanceGroup(g, file)),
    ...(m.has('dynamic_batching') ? { dynamicBatching: dynamicBatching(m.sub('dynamic_batching'), maxBatchSize, file) } : {}),
    parameters: parameters(m.msgs('parameters'), file),
  };
}

function tensorConfig(t: Message, file: string, what: 'input' | 'output'): TensorConfig {
  const name = t.str('name');
  if (name === '') throw configError(file, `an ${what} without a name`);
  const type = t.has('data_type') ? t.str('data_type') : undefined;
  if (type !== undefined && WIRE_OF[type] === undefined) {
    throw configError(file, `${what} '${name}': data_type ${type} is not one an engine takes (TYPE_FP32, TYPE_FP16, TYPE_UINT8)`);
  }
  const dims = t.nums('dims');
  if (dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw configError(file, `${what} '${name}': dims must be positive (no variable dimensions), got [${dims.join(', ')}]`);
  }
  const format = what === 'input' && t.has('format') ? (t.str('format') as TensorConfig['format']) : undefined;
  const label = what === 'output' && t.has('label_filename') ? t.str('label_filename') : undefined;
  return {
    name,
    ...(type !== undefined ? { dataType: WIRE_OF[type] } : {}),
    ...(format !== undefined ? { format } : {}),
    ...(dims.length > 0 ? { dims } : {}),
    ...(label !== undefined ? { labelFilename: label } : {}),
  };
}

function instanceGroup(g: Message, file: string): InstanceGroupConfig {
  const count = g.has('count') ? g.num('count') : 1;
  if (!Number.isInteger(count) || count < 1 || count > 64) throw configError(file, `instance_group count must be in [1, 64], got ${count}`);
  const kind = g.str('kind');
  if (kind === 'KIND_MODEL') throw configError(file, 'instance_group kind KIND_MODEL is not supported (KIND_AUTO, KIND_GPU, KIND_CPU)');
  const gpus = g.nums('gpus');
  if (gpus.some((d) => !Number.isInteger(d) || d < 0))
    throw configError(file, `instance_group gpus must be GPU indices, got [${gpus.join(', ')}]`);
  return { count, kind: kind as InstanceGroupConfig['kind'], gpus };
}

function dynamicBatching(d: Message, maxBatchSize: number, file: string): DynamicBatchingConfig {
  const preferred = d.nums('preferred_batch_size');
  for (const p of preferred) {
    if (!Number.isInteger(p) || p < 1 || p > maxBatchSize) {
      throw configError(file, `dynamic_batching preferred_batch_size ${p} is outside [1, max_batch_size ${maxBatchSize}]`);
    }
  }
  const policy = d.sub('default_queue_policy');
  return {
    preferredBatchSizes: [...preferred].sort((a, b) => a - b),
    maxQueueDelayUs: d.num('max_queue_delay_microseconds'),
    maxQueueSize: policy.num('max_queue_size'),
    defaultTimeoutUs: policy.num('default_timeout_microseconds'),
    allowTimeoutOverride: policy.has('allow_timeout_override') ? policy.bool('allow_timeout_override') : true,
  };
}

function parameters(entries: readonly Message[], file: string): Partial<Record<ModelParameterKey, string>> {
  const out: Partial<Record<ModelParameterKey, string>> = {};
  for (const e of entries) {
    const key = e.str('key');
    if (!(MODEL_PARAMETERS as readonly string[]).includes(key)) {
      throw configError(file, `parameters key '${key}' is not supported (supported: ${MODEL_PARAMETERS.join(', ')})`);
    }
    out[key as ModelParameterKey] = e.sub('value').str('string_value');
  }
  return out;
}
