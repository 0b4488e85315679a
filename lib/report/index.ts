/**
 * tensorrt-node/report: the study's report (issue 6): result JSON (bench rank files, sweeps) merged
 * into one SweepDoc, then REPORT.md with figures as SVG and PNG, against the 2017 reference numbers
 * (DELL_2017) and the scaling target. See docs/report.md.
 */
export { mergeResults, type MergeOptions } from './merge';
export { writeReport, type ReportOptions, type ReportOutput } from './report';
export { DELL_2017, type ReferenceNumbers, type ReferenceRow } from './reference';
export { readPeerFile, readResultFile, type PeerDoc, type PeerNetwork, type PeerRow } from './schema';
export { SCALING_TARGET } from './markdown';
export type { BenchResult, SweepDoc, SweepPoint } from '../bench/result';
