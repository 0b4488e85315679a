/**
 * The 2017 numbers the study is measured against: Dell EMC's "Inference performance with TensorRT
 * on P40" (TensorRT 2.1 on Tesla P40 and M40, batch 128, images per second).
 */
import type { Precision } from '../builder/exec_graph';
import { argumentError } from '../errors';
import { PRECISIONS } from './schema';

/** One published throughput. */
export interface ReferenceRow {
  /** Network key as networkKey() gives it: 'alexnet', 'googlenet'. */
  network: string;
  /** GPU model: 'P40', 'M40'. */
  gpu: string;
  precision: Precision;
  gpus: number;
  imagesPerSecond: number;
  /** Which experiment of the paper: the 1-GPU precision comparison or the multi-GPU scaling runs. */
  experiment: 'precision' | 'scaling';
}

/** A set of published numbers, all at one batch size. */
export interface ReferenceNumbers {
  /** Short citation shown under the figures. */
  source: string;
  /** The year shown in legends: '2017'. */
  year: string;
  batch: number;
  rows: ReferenceRow[];
}

/** Dell's 2017 numbers (batch 128). */
export const DELL_2017: ReferenceNumbers = {
  source: 'Dell EMC, "Inference performance with TensorRT on P40" (2017), TensorRT 2.1, batch 128',
  year: '2017',
  batch: 128,
  rows: [
    { network: 'googlenet', gpu: 'P40', precision: 'fp32', gpus: 1, imagesPerSecond: 2215, experiment: 'precision' },
    { network: 'googlenet', gpu: 'P40', precision: 'int8', gpus: 1, imagesPerSecond: 6410, experiment: 'precision' },
    { network: 'googlenet', gpu: 'M40', precision: 'fp32', gpus: 1, imagesPerSecond: 1446, experiment: 'precision' },
    { network: 'alexnet', gpu: 'P40', precision: 'fp32', gpus: 1, imagesPerSecond: 5198, experiment: 'precision' },
    { network: 'alexnet', gpu: 'P40', precision: 'int8', gpus: 1, imagesPerSecond: 16292, experiment: 'precision' },
    { network: 'alexnet', gpu: 'M40', precision: 'fp32', gpus: 1, imagesPerSecond: 3200, experiment: 'precision' },
    { network: 'googlenet', gpu: 'P40', precision: 'int8', gpus: 1, imagesPerSecond: 6406, experiment: 'scaling' },
    { network: 'googlenet', gpu: 'P40', precision: 'int8', gpus: 2, imagesPerSecond: 12808, experiment: 'scaling' },
    { network: 'googlenet', gpu: 'P40', precision: 'int8', gpus: 4, imagesPerSecond: 25592, experiment: 'scaling' },
    { network: 'alexnet', gpu: 'P40', precision: 'int8', gpus: 1, imagesPerSecond: 16270, experiment: 'scaling' },
    { network: 'alexnet', gpu: 'P40', precision: 'int8', gpus: 2, imagesPerSecond: 32386, experiment: 'scaling' },
    { network: 'alexnet', gpu: 'P40', precision: 'int8', gpus: 4, imagesPerSecond: 64691, experiment: 'scaling' },
  ],
};

/** Throws a TypeError naming the first field of `v` that ReferenceNumbers cannot have. */
export function checkReference(v: unknown, name: string): ReferenceNumbers {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw argumentError('a ReferenceNumbers object', name, v);
  const r = v as Record<string, unknown>;
  if (typeof r.source !== 'string') throw argumentError('a string', `${name}.source`, r.source);
  if (typeof r.year !== 'string') throw argumentError('a string', `${name}.year`, r.year);
  if (typeof r.batch !== 'number' || !Number.isInteger(r.batch) || r.batch < 1)
    throw argumentError('a positive integer', `${name}.batch`, r.batch);
  if (!Array.isArray(r.rows)) throw argumentError('an array of rows', `${name}.rows`, r.rows);
  r.rows.forEach((row: unknown, i) => {
    const at = `${name}.rows[${i}]`;
    if (row === null || typeof row !== 'object') throw argumentError('an object', at, row);
    const x = row as Record<string, unknown>;
    if (typeof x.network !== 'string' || x.network === '') throw argumentError('a non-empty string', `${at}.network`, x.network);
    if (typeof x.gpu !== 'string' || x.gpu === '') throw argumentError('a non-empty string', `${at}.gpu`, x.gpu);
    if (!PRECISIONS.includes(x.precision as Precision))
      throw argumentError(`one of ${PRECISIONS.join(', ')}`, `${at}.precision`, x.precision);
    if (typeof x.gpus !== 'number' || !Number.isInteger(x.gpus) || x.gpus < 1)
      throw argumentError('a positive integer', `${at}.gpus`, x.gpus);
    if (typeof x.imagesPerSecond !== 'number' || !(x.imagesPerSecond > 0))
      throw argumentError('a number > 0', `${at}.imagesPerSecond`, x.imagesPerSecond);
    if (x.experiment !== 'precision' && x.experiment !== 'scaling')
      throw argumentError("'precision' or 'scaling'", `${at}.experiment`, x.experiment);
  });
  return v as ReferenceNumbers;
}
