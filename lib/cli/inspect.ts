/** `tensorrt-node inspect`: layers, output shapes, MACs and parameters of a Caffe network. */
import { Network } from '../network';
import { bytes, human, shape, table } from './format';
import { loadPlugins, PLUGIN } from './model_options';
import { formatHelp, intOption, parseCommand, UsageError, type CommandSpec } from './options';

/** The inspect command's options. */
export const INSPECT: CommandSpec = {
  name: 'inspect',
  summary: 'Import a Caffe network and print its layers, output shapes, MACs and parameters.',
  usage: 'tensorrt-node inspect <deploy.prototxt> [options]',
  options: [
    {
      name: 'weights',
      type: 'string',
      value: 'file.caffemodel',
      help: 'Read trained weights and check every blob shape against the network',
    },
    { name: 'batch', type: 'string', value: 'N', help: 'Batch size: replaces dimension 0 of every input', default: 'as in the file' },
    {
      name: 'inputShape',
      type: 'string',
      value: 'name:NxCxHxW',
      multiple: true,
      help: 'Shape of an input (repeatable); needed for Data layers, whose shapes the file does not give',
    },
    { name: 'phase', type: 'string', value: 'TEST|TRAIN', help: 'Phase for include/exclude rules', default: 'TEST' },
    { name: 'allowUnknownFields', type: 'boolean', help: 'Skip fields Caffe does not define (forks add some) instead of failing' },
    { name: 'json', type: 'boolean', help: 'Print JSON (layers, shapes, costs, notes) for scripts' },
    PLUGIN,
  ],
  notes: [
    'MACs count multiply-accumulates: convolution = output elements x (input channels / group) x kernel size;\n' +
      'deconvolution = input elements x (output channels / group) x kernel size; inner product = inputs x outputs;\n' +
      'every other layer 0. Parameters count the elements of every learned blob as Caffe stores them.\n' +
      'Activations count the output elements of every layer but the inputs, in-place layers included.',
  ],
  examples: [
    'tensorrt-node inspect models/googlenet.prototxt',
    'tensorrt-node inspect models/alexnet.prototxt --batch 128 --json',
    'tensorrt-node inspect train_val.prototxt --inputShape data:64x1x28x28',
  ],
};

function parseInputShape(spec: string): [string, number[]] {
  const at = spec.lastIndexOf(':');
  const dims = spec
    .slice(at + 1)
    .split(/[x,]/)
    .map(Number);
  if (at <= 0 || dims.length === 0 || !dims.every((d) => Number.isInteger(d) && d > 0)) {
    throw new UsageError(`tensorrt-node inspect: --inputShape takes name:NxCxHxW, got '${spec}'`);
  }
  return [spec.slice(0, at), dims];
}

/** Runs `inspect` with argv after the command name; resolves to the exit code. */
export async function runInspect(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseCommand(INSPECT, argv);
  if (values.help === true) {
    out(formatHelp(INSPECT));
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`tensorrt-node inspect: give one deploy.prototxt, got ${positionals.length} file arguments`);
  }
  const phase = values.phase as string | undefined;
  if (phase !== undefined && phase !== 'TEST' && phase !== 'TRAIN') {
    throw new UsageError(`tensorrt-node inspect: --phase is TEST or TRAIN, got '${phase}'`);
  }
  const inputShapes = Object.fromEntries(((values.inputShape as string[] | undefined) ?? []).map(parseInputShape));
  const json = values.json === true;
  const showProgress = !json && process.stderr.isTTY === true;
  loadPlugins(values);
  const net = await Network.fromCaffe(positionals[0], {
    weights: values.weights as string | undefined,
    batchSize: intOption(INSPECT, 'batch', values.batch as string | undefined, 1, 1 << 20),
    inputShapes,
    phase: phase as 'TEST' | 'TRAIN' | undefined,
    allowUnknownFields: values.allowUnknownFields === true,
    onProgress: showProgress
      ? (done, total) => err(`\rreading weights: ${Math.floor((100 * done) / total)}% of ${bytes(total)}`)
      : undefined,
  });
  if (showProgress && values.weights !== undefined) err('\n');
  const s = net.summary();
  if (json) {
    out(
      JSON.stringify(
        {
          file: net.file,
          format: net.format,
          weights: net.weightsSource,
          ...s,
          notes: net.notes,
          warnings: net.warnings,
        },
        null,
        2,
      ),
    );
    return 0;
  }
  for (const w of net.warnings) err(`warning: ${w}`);
  out(
    `${net.file}: ${net.name || '(unnamed)'} (${net.format} format), batch ${s.batchSize}, ` +
      `${s.layers.length} layers, ${net.weightsSource} weights`,
  );
  out(`Inputs:  ${s.inputs.map((t) => `${t.name} ${shape(t.shape)}`).join(', ')}`);
  out(`Outputs: ${s.outputs.map((t) => `${t.name} ${shape(t.shape)}`).join(', ')}`);
  out('');
  const rows = s.layers.map((l, i) => [
    String(i),
    l.name,
    l.type,
    l.outputs
      .map((t) => (t.name === l.outputs[0].name && l.outputs.length === 1 ? shape(t.shape) : `${t.name} ${shape(t.shape)}`))
      .join(', '),
    l.macs > 0 ? human(l.macs) : '-',
    l.params > 0 ? human(l.params) : '-',
  ]);
  out(table(['#', 'layer', 'type', 'output', 'MACs', 'params'], rows, [true, false, false, false, true, true]));
  out('');
  const t = s.totals;
  out(
    `Total: ${human(t.macs, 'MAC')} (${human(s.perImage.macs, 'MAC')} per image), ${human(t.params)} parameters ` +
      `(${bytes(t.weightBytes)} fp32), ${human(t.activations)} activation values (${bytes(t.activationBytes)} fp32)`,
  );
  if (net.notes.length > 0) {
    out('Notes:');
    for (const n of net.notes) out(`  - ${n}`);
  }
  return 0;
}
