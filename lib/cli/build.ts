/** `tensorrt-node build`: import a network, build an engine, write its plan. */
import { bytes } from './format';
import { ENGINE_OPTIONS, obtainEngine } from './engine_source';
import { batchOption, DEPLOY, modelFile, SHAPES } from './model_options';
import { formatHelp, parseCommand, UsageError, type CommandSpec } from './options';

/** The build command's options. */
export const BUILD: CommandSpec = {
  name: 'build',
  summary: 'Build an engine from a Caffe network and write it as a plan file.',
  usage: 'tensorrt-node build <deploy.prototxt> -o <file.plan> [options]',
  options: [
    DEPLOY,
    { name: 'output', short: 'o', type: 'string', value: 'file.plan', help: 'Where to write the plan (required; trtexec: --saveEngine)' },
    { name: 'batch', type: 'string', value: 'N', help: 'Largest batch the engine will run (maxBatchSize)', default: "the network's batch" },
    { ...SHAPES, help: `${SHAPES.help} (N: the largest batch)` },
    ...ENGINE_OPTIONS,
  ],
  notes: [
    "Plans hold the execution graph, the prepared weights and the backend's own data, with a checksum;\n" +
      '`tensorrt-node infer` and `bench` run them, as does Engine.load() from JavaScript.',
  ],
  examples: [
    'tensorrt-node build models/googlenet.prototxt --precision fp16 --batch 128 -o googlenet-fp16.plan',
    'tensorrt-node build deploy.prototxt --weights bvlc_alexnet.caffemodel --backend cpu -o alexnet.plan',
    'tensorrt-node build --deploy=models/alexnet.prototxt --shapes=data:128x3x227x227 --int8 --saveEngine=alexnet-int8.plan',
  ],
};

/** Runs `build`; resolves to the exit code. */
export async function runBuild(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseCommand(BUILD, argv);
  if (values.help === true) {
    out(formatHelp(BUILD));
    return 0;
  }
  const model = modelFile(BUILD, values, positionals);
  const output = values.output as string | undefined;
  if (output === undefined) throw new UsageError('tensorrt-node build: give the plan file to write with -o <file.plan>');
  const { engine } = await obtainEngine(BUILD, model.file, values, batchOption(BUILD, values), err, { expect: 'prototxt' });
  try {
    await engine.save(output);
    const m = engine.memory();
    out(
      `wrote ${output}: ${engine.backend} backend, ${engine.precision}, max batch ${engine.maxBatchSize}, ` +
        `weights ${bytes(m.weightBytes)}, activations ${bytes(m.activationBytesPerImage)} per image`,
    );
  } finally {
    engine.dispose();
  }
  return 0;
}
