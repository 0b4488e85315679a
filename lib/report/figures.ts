/**
 * The report's figures as vega-lite specifications (plain data: nothing here draws). Each figure
 * either has a spec or says why it was skipped, so the markdown can tell the reader.
 */
import type { Precision } from '../builder/exec_graph';
import { okPoint, peerNetwork, peerThroughput, presentPrecisions, type ReportNetwork, type ReportPoint } from './data';
import { gpuShortName, precisionLabel, slug, type DeviceWords } from './names';
import type { ReferenceNumbers } from './reference';
import type { PeerDoc } from './schema';
import { PRECISIONS } from './schema';

/** A vega-lite specification (JSON). */
export type VegaLiteSpec = Record<string, unknown>;

/** One figure of the report: drawn from `spec`, or skipped for the reason given. */
export interface FigurePlan {
  number: number;
  /** File stem of its SVG and PNG: 'fig-1-precision'. */
  id: string;
  title: string;
  /** What it shows and how it was measured (one paragraph of markdown). */
  caption: string;
  spec?: VegaLiteSpec;
  skipped?: string;
}

/** What the figures are drawn from. */
export interface FigureInputs {
  points: readonly ReportPoint[];
  networks: readonly ReportNetwork[];
  gpu: string;
  /** GPU or CPU words (a cpu sweep's figures say CPU). */
  words: DeviceWords;
  batch: number;
  peer?: PeerDoc;
  reference?: ReferenceNumbers;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const PRECISION_COLORS: Record<Precision, string> = { fp32: '#4c78a8', tf32: '#72b7b2', fp16: '#f58518', int8: '#e45756' };
const REFERENCE_COLORS = ['#8c8c8c', '#b5b5b5', '#5f5f5f', '#d4d4d4'];
const CONFIG = {
  font: 'sans-serif',
  background: 'white',
  view: { stroke: '#dddddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eeeeee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, subtitleFontSize: 11, anchor: 'start' },
};

function precisionScale(precisions: readonly Precision[]): { domain: string[]; range: string[] } {
  return { domain: precisions.map(precisionLabel), range: precisions.map((p) => PRECISION_COLORS[p]) };
}

/** Fig. 1: images/s of every precision of every network at the report batch on 1 GPU. */
function precisionFigure(input: FigureInputs, number: number): FigurePlan {
  const { points, networks, gpu, batch, words } = input;
  const rows = points.filter((p) => p.gpus === 1 && p.batch === batch && p.status === 'ok' && p.imagesPerSecond !== undefined);
  const plan: FigurePlan = {
    number,
    id: `fig-${number}-precision`,
    title: `Images/s by precision, batch ${batch}, ${words.count(1)}`,
    caption: `Throughput (images/s over the timed window) of each network in every precision measured, batch ${batch}, ` + `one ${gpu}.`,
  };
  if (rows.length === 0) return { ...plan, skipped: `no network was measured on ${words.count(1)} at batch ${batch} (status ok)` };
  const precisions = presentPrecisions(rows);
  const values = rows.map((p) => ({ network: p.network, precision: precisionLabel(p.precision), imagesPerSecond: p.imagesPerSecond }));
  const networkOrder = networks.map((n) => n.label).filter((l) => rows.some((r) => r.network === l));
  plan.spec = {
    $schema: SCHEMA,
    title: { text: `${gpuShortName(gpu)}: images/s by precision`, subtitle: `batch ${batch}, ${words.count(1)}` },
    config: CONFIG,
    width: Math.max(240, 150 * networkOrder.length),
    height: 300,
    data: { values },
    encoding: {
      x: { field: 'network', type: 'nominal', sort: networkOrder, title: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'precision', type: 'nominal', sort: precisions.map(precisionLabel) },
      y: { field: 'imagesPerSecond', type: 'quantitative', title: 'images/s' },
      color: {
        field: 'precision',
        type: 'nominal',
        title: 'precision',
        scale: precisionScale(precisions),
        sort: precisions.map(precisionLabel),
      },
    },
    layer: [
      { mark: { type: 'bar' } },
      {
        mark: { type: 'text', dy: -5, fontSize: 9 },
        encoding: { color: { value: '#333333' }, text: { field: 'imagesPerSecond', type: 'quantitative', format: ',.0f' } },
      },
    ],
  };
  return plan;
}

/** Fig. 2..: images/s over 1..N GPUs of one network, each precision with its ideal linear line. */
function scalingFigure(input: FigureInputs, net: ReportNetwork, number: number): FigurePlan {
  const { points, gpu, batch, words } = input;
  const ideal = `ideal (N x ${words.count(1)})`;
  const plan: FigurePlan = {
    number,
    id: `fig-${number}-scaling-${slug(net.label)}`,
    title: `${net.label}: scaling over ${words.units}, batch ${batch}`,
    caption:
      `${net.label}, batch ${batch} per ${words.unit}: images/s summed over the ${words.units} (solid) against the ideal linear ` +
      `scaling, N x the ${words.single} images/s (dashed), on ${gpu}.`,
  };
  const mine = points.filter((p) => p.key === net.key && p.batch === batch && p.status === 'ok' && p.imagesPerSecond !== undefined);
  const counts = [...new Set(mine.map((p) => p.gpus))].sort((a, b) => a - b);
  if (!counts.some((n) => n > 1))
    return { ...plan, skipped: `${net.label} was measured on ${words.count(1)} only at batch ${batch}: no scaling to draw` };
  const precisions = presentPrecisions(mine).filter(
    (pr) => okPoint(points, net.key, pr, batch, 1) !== undefined && mine.some((p) => p.precision === pr && p.gpus > 1),
  );
  if (precisions.length === 0) return { ...plan, skipped: `${net.label} has no ${words.single} point at batch ${batch} to scale from` };
  const values: Array<Record<string, unknown>> = [];
  for (const pr of precisions) {
    const base = (okPoint(points, net.key, pr, batch, 1) as ReportPoint).imagesPerSecond as number;
    const measured = mine.filter((p) => p.precision === pr);
    for (const p of measured)
      values.push({ gpus: p.gpus, precision: precisionLabel(pr), series: 'measured', imagesPerSecond: p.imagesPerSecond });
    for (const n of counts) values.push({ gpus: n, precision: precisionLabel(pr), series: ideal, imagesPerSecond: base * n });
  }
  plan.spec = {
    $schema: SCHEMA,
    title: {
      text: `${net.label} on ${gpuShortName(gpu)}: images/s over ${words.units}`,
      subtitle: `batch ${batch} per ${words.unit}; dashed: ideal linear scaling`,
    },
    config: CONFIG,
    width: 420,
    height: 300,
    data: { values },
    encoding: {
      x: {
        field: 'gpus',
        type: 'quantitative',
        title: words.units,
        scale: { domain: [1, counts[counts.length - 1]], nice: false },
        axis: { values: counts, format: 'd' },
      },
      y: { field: 'imagesPerSecond', type: 'quantitative', title: 'images/s' },
      color: {
        field: 'precision',
        type: 'nominal',
        title: 'precision',
        scale: precisionScale(precisions),
        sort: precisions.map(precisionLabel),
      },
    },
    layer: [
      {
        mark: { type: 'line' },
        encoding: {
          strokeDash: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: {
              domain: ['measured', ideal],
              range: [
                [1, 0],
                [5, 4],
              ],
            },
            legend: { symbolType: 'stroke', symbolStrokeColor: '#555555' },
          },
        },
      },
      { transform: [{ filter: "datum.series === 'measured'" }], mark: { type: 'point', filled: true, opacity: 1 } },
    ],
  };
  return plan;
}

/** Fig. 4..: today's GPU next to the 2017 numbers for one network (log scale). */
function referenceFigure(input: FigureInputs, net: ReportNetwork, number: number): FigurePlan {
  const { points, gpu, reference, words } = input;
  const batch = reference?.batch ?? input.batch;
  const plan: FigurePlan = {
    number,
    id: `fig-${number}-reference-${slug(net.label)}`,
    title: `${net.label}: ${gpuShortName(gpu)} next to the ${reference?.year ?? 'reference'} numbers, batch ${batch}`,
    caption: '',
  };
  if (reference === undefined) return { ...plan, skipped: 'no reference numbers were given' };
  const refRows = reference.rows.filter(
    (r) =>
      r.network === net.key &&
      (r.experiment === 'scaling' ||
        !reference.rows.some(
          (s) =>
            s.experiment === 'scaling' && s.network === r.network && s.gpu === r.gpu && s.precision === r.precision && s.gpus === r.gpus,
        )),
  );
  if (refRows.length === 0) return { ...plan, skipped: `the ${reference.year} study has no numbers for ${net.label}` };
  const mine = points.filter((p) => p.key === net.key && p.batch === batch && p.status === 'ok' && p.imagesPerSecond !== undefined);
  if (mine.length === 0) return { ...plan, skipped: `${net.label} was not measured at batch ${batch} (status ok)` };
  const scalingRuns = refRows.filter((r) => r.experiment === 'scaling');
  plan.caption =
    `${net.label}, batch ${batch}: images/s of every precision and ${words.unit} count measured here, next to ${reference.source}.` +
    (scalingRuns.length > 0
      ? ` The ${reference.year} bars of ${[...new Set(scalingRuns.map((r) => `${r.gpu} ${precisionLabel(r.precision)}`))].join(', ')} are its ` +
        `multi-GPU runs (${[...new Set(scalingRuns.map((r) => r.gpus))].join(', ')} GPUs), the others its 1-GPU comparison.`
      : '') +
    ' Logarithmic scale.';
  const refSeries = [...new Set(refRows.map((r) => `${r.gpu} ${precisionLabel(r.precision)} (${reference.year})`))];
  const precisions = presentPrecisions(mine);
  const mySeries = precisions.map((p) => `${gpuShortName(gpu)} ${precisionLabel(p)}`);
  const counts = [...new Set([...refRows.map((r) => r.gpus), ...mine.map((p) => p.gpus)])].sort((a, b) => a - b);
  const values = [
    ...refRows.map((r) => ({
      gpus: words.count(r.gpus),
      series: `${r.gpu} ${precisionLabel(r.precision)} (${reference.year})`,
      imagesPerSecond: r.imagesPerSecond,
    })),
    ...mine.map((p) => ({
      gpus: words.count(p.gpus),
      series: `${gpuShortName(gpu)} ${precisionLabel(p.precision)}`,
      imagesPerSecond: p.imagesPerSecond,
    })),
  ];
  const series = [...refSeries, ...mySeries];
  plan.spec = {
    $schema: SCHEMA,
    title: { text: `${net.label}: ${gpuShortName(gpu)} vs the ${reference.year} study`, subtitle: `batch ${batch}, images/s, log scale` },
    config: CONFIG,
    width: Math.max(320, 30 * series.length * counts.length),
    height: 300,
    data: { values },
    encoding: {
      x: { field: 'gpus', type: 'nominal', title: null, sort: counts.map(words.count), axis: { labelAngle: 0 } },
      xOffset: { field: 'series', type: 'nominal', sort: series },
      y: { field: 'imagesPerSecond', type: 'quantitative', title: 'images/s (log scale)', scale: { type: 'log' }, stack: null },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        sort: series,
        scale: {
          domain: series,
          range: [...refSeries.map((_, i) => REFERENCE_COLORS[i % REFERENCE_COLORS.length]), ...precisions.map((p) => PRECISION_COLORS[p])],
        },
      },
    },
    layer: [
      { mark: { type: 'bar' } },
      {
        mark: { type: 'text', dy: -5, fontSize: 8 },
        encoding: { color: { value: '#333333' }, text: { field: 'imagesPerSecond', type: 'quantitative', format: '.3s' } },
      },
    ],
  };
  return plan;
}

/** Fig. 6: images/s against batch size on 1 GPU, a panel per network, a line per precision. */
function batchFigure(input: FigureInputs, number: number): FigurePlan {
  const { points, networks, gpu, words } = input;
  const plan: FigurePlan = {
    number,
    id: `fig-${number}-batch`,
    title: `Images/s by batch size, ${words.count(1)}`,
    caption:
      `Throughput against batch size (log2 axis) on one ${gpu}, a panel per network and a line per precision; ` +
      `a cross on the x axis marks a batch that ran out of ${words.memory}.`,
  };
  const one = points.filter((p) => p.gpus === 1);
  const drawable = networks.filter((n) =>
    PRECISIONS.some((pr) => one.filter((p) => p.key === n.key && p.precision === pr && p.status === 'ok').length >= 2),
  );
  if (drawable.length === 0)
    return { ...plan, skipped: `no network and precision was measured at two or more batch sizes on ${words.count(1)}` };
  const rows = one.filter((p) => drawable.some((n) => n.key === p.key) && (p.status === 'ok' || p.status === 'oom'));
  const precisions = presentPrecisions(rows);
  const batches = [...new Set(rows.map((p) => p.batch))].sort((a, b) => a - b);
  const values = rows.map((p) => ({
    network: p.network,
    precision: precisionLabel(p.precision),
    batch: p.batch,
    status: p.status,
    imagesPerSecond: p.status === 'ok' ? p.imagesPerSecond : 0,
  }));
  const x = {
    field: 'batch',
    type: 'quantitative',
    title: 'batch size (log2)',
    scale: { type: 'log', base: 2 },
    axis: { values: batches, format: 'd', labelAngle: 0 },
  };
  const color = {
    field: 'precision',
    type: 'nominal',
    title: 'precision',
    scale: precisionScale(precisions),
    sort: precisions.map(precisionLabel),
  };
  const layers: VegaLiteSpec[] = [
    {
      transform: [{ filter: "datum.status === 'ok'" }],
      mark: { type: 'line', point: true },
      encoding: { x, y: { field: 'imagesPerSecond', type: 'quantitative', title: 'images/s' }, color },
    },
  ];
  if (rows.some((p) => p.status === 'oom')) {
    layers.push({
      transform: [{ filter: "datum.status === 'oom'" }],
      mark: { type: 'point', shape: 'cross', size: 80, filled: true },
      encoding: { x, y: { datum: 0 }, color },
    });
  }
  plan.spec = {
    $schema: SCHEMA,
    title: { text: `${gpuShortName(gpu)}: images/s by batch size`, subtitle: `${words.count(1)}; a cross on the x axis: out of memory` },
    config: CONFIG,
    data: { values },
    facet: { column: { field: 'network', type: 'nominal', title: null, sort: drawable.map((n) => n.label) } },
    resolve: { scale: { y: 'independent' } },
    spec: { width: 300, height: 260, layer: layers },
  };
  return plan;
}

/** Fig. 7: our engine next to the PyTorch peer, every precision, at the report batch on 1 GPU. */
function peerFigure(input: FigureInputs, number: number): FigurePlan {
  const { points, networks, gpu, batch, peer, words } = input;
  const plan: FigurePlan = {
    number,
    id: `fig-${number}-peer`,
    title: `tensorrt-node next to PyTorch, batch ${batch}, ${words.count(1)}`,
    caption:
      `Images/s from the median GPU compute time (copies excluded; our images/s over the timed window where a ` +
      `point has no GPU compute time) of our engine and of the PyTorch peer (median CUDA-graph replay time), batch ${batch}, ` +
      `one ${gpu}. PyTorch has no INT8 convolution path: INT8 shows ours alone.`,
  };
  if (peer === undefined) return { ...plan, skipped: 'no PyTorch peer file was given (`--peer`)' };
  const values: Array<Record<string, unknown>> = [];
  for (const net of networks) {
    if (peerNetwork(peer, net.key) === undefined) continue;
    for (const pr of PRECISIONS) {
      const mine = okPoint(points, net.key, pr, batch, 1);
      const theirs = peerThroughput(peer, net.key, pr, batch);
      if (mine === undefined && theirs?.imagesPerSecond === undefined) continue;
      if (mine !== undefined) {
        values.push({
          network: net.label,
          precision: precisionLabel(pr),
          engine: 'tensorrt-node',
          imagesPerSecond: mine.gpuComputeImagesPerSecond ?? mine.imagesPerSecond,
        });
      }
      if (theirs?.imagesPerSecond !== undefined) {
        values.push({ network: net.label, precision: precisionLabel(pr), engine: 'PyTorch', imagesPerSecond: theirs.imagesPerSecond });
      }
    }
  }
  if (!values.some((v) => v.engine === 'PyTorch') || !values.some((v) => v.engine === 'tensorrt-node')) {
    return { ...plan, skipped: `the peer file and the sweep share no network measured at batch ${batch} on ${words.count(1)}` };
  }
  const precisions = PRECISIONS.filter((p) => values.some((v) => v.precision === precisionLabel(p)));
  plan.spec = {
    $schema: SCHEMA,
    title: {
      text: `${gpuShortName(gpu)}: tensorrt-node vs PyTorch`,
      subtitle: `batch ${batch}, ${words.count(1)}, images/s from GPU compute time`,
    },
    config: CONFIG,
    data: { values },
    facet: { column: { field: 'network', type: 'nominal', title: null, sort: networks.map((n) => n.label) } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 260,
      height: 260,
      encoding: {
        x: { field: 'precision', type: 'nominal', title: null, sort: precisions.map(precisionLabel), axis: { labelAngle: 0 } },
        xOffset: { field: 'engine', type: 'nominal', sort: ['tensorrt-node', 'PyTorch'] },
        y: { field: 'imagesPerSecond', type: 'quantitative', title: 'images/s' },
        color: {
          field: 'engine',
          type: 'nominal',
          title: null,
          scale: { domain: ['tensorrt-node', 'PyTorch'], range: ['#4c78a8', '#ee8a2b'] },
        },
      },
      layer: [
        { mark: { type: 'bar' } },
        {
          mark: { type: 'text', dy: -5, fontSize: 8 },
          encoding: { color: { value: '#333333' }, text: { field: 'imagesPerSecond', type: 'quantitative', format: '.3s' } },
        },
      ],
    },
  };
  return plan;
}

/**
 * Every figure of the report, numbered in order: 1 precisions; one scaling figure per network;
 * one reference figure per network; batch sizes; the PyTorch peer.
 */
export function planFigures(input: FigureInputs): FigurePlan[] {
  const figures: FigurePlan[] = [precisionFigure(input, 1)];
  for (const net of input.networks) figures.push(scalingFigure(input, net, figures.length + 1));
  for (const net of input.networks) figures.push(referenceFigure(input, net, figures.length + 1));
  figures.push(batchFigure(input, figures.length + 1));
  figures.push(peerFigure(input, figures.length + 1));
  return figures;
}
