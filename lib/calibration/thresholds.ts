/**
 * INT8 calibration thresholds: from a histogram of |x| to the tensor's threshold (amax), whose
 * scale is threshold / 127. Pure functions of the histogram; no I/O, no native code.
 *
 * - `entropyThreshold`: the KL-divergence search of Migacz, "8-bit Inference with TensorRT"
 *   (GTC 2017), used by both entropy calibrators (entropy2 and entropy differ only in which
 *   network they calibrate, not in this math).
 * - `minmaxThreshold`: the largest |x| seen.
 * - `percentileThreshold`: a percentile of |x|.
 * - `legacyThreshold`: our reading of TensorRT's IInt8LegacyCalibrator (quantile, regression cutoff).
 *
 * Every choice the published description leaves open is a named constant or a documented rule
 * here and in docs/calibration.md ("Choices the published description leaves open").
 */
import { argumentError } from '../errors';

/**
 * Statistics of one tensor, collected by the native backend (native/core/histogram.cc).
 *
 * Bin i holds the |x| in (i * w, (i + 1) * w] with w = range / 2048, and bin 0 also holds 0. The range is set by the first non-zero batch's max and doubled (bins merged
 * pairwise) when a later batch exceeds it, so it can exceed amax. Before any non-zero value is
 * seen, range is 0 and every (zero) value is counted in bin 0.
 */
export interface Histogram {
  /** HISTOGRAM_BINS sample counts. */
  readonly counts: Float64Array;
  /** Upper edge of the last bin (>= amax); 0 only while every value seen is 0. */
  readonly range: number;
  /** The exact max |x| seen. */
  readonly amax: number;
}

/** Number of bins of a calibration histogram. */
export const HISTOGRAM_BINS = 2048;

/**
 * Number of quantization levels of the candidate distribution Q: the non-negative half of the
 * symmetric INT8 range, q in [0, 127].
 */
export const QUANTIZED_LEVELS = 128;

/**
 * Decision (empty Q entries): the only bin where P > 0 and Q = 0 is the last bin of a candidate
 * (i - 1) when it is empty but outliers were folded into it. It gets the probability
 * ZERO_Q_EPSILON_COUNT / total (a ten-thousandth of one sample, as MXNet's `_smooth_distribution`
 * uses eps = 0.0001 counts), taken from the other entries of Q in proportion, so Q still sums to
 * one. Such a candidate thus costs about p ln(p / eps) instead of being impossible: a lone far
 * outlier behind a gap of empty bins can still be clipped.
 */
export const ZERO_Q_EPSILON_COUNT = 1e-4;

/**
 * Decision (ties): divergences within this many nats of the smallest count as equal, and among
 * them the largest candidate (the least clipping) wins, as pytorch-quantization takes the last
 * argmin. The tolerance is far above the rounding of the divergence sums (about 1e-15 nats) and
 * far below the differences that matter (1e-7 and up between neighbouring candidates).
 */
export const DIVERGENCE_TIE_TOLERANCE = 1e-12;

/** A validated histogram, with what every threshold function needs. */
interface CheckedHistogram {
  readonly counts: Float64Array;
  readonly range: number;
  readonly amax: number;
  /** Sum of all counts. */
  readonly total: number;
  /** Index of the last non-empty bin, -1 when the histogram is empty. */
  readonly last: number;
}

function checkNumber(value: unknown, name: string): number {
  if (typeof value !== 'number') throw argumentError('a finite non-negative number', name, value);
  if (!Number.isFinite(value) || value < 0) throw argumentError('a finite non-negative number', name, value, 'range');
  return value;
}

/** Validates a Histogram; `name` names the argument in errors. */
function checkHistogram(h: unknown, name = 'h'): CheckedHistogram {
  if (h === null || typeof h !== 'object') throw argumentError('a Histogram ({ counts, range, amax })', name, h);
  const { counts, range, amax } = h as Histogram;
  if (!(counts instanceof Float64Array)) throw argumentError(`a Float64Array of ${HISTOGRAM_BINS} counts`, `${name}.counts`, counts);
  if (counts.length !== HISTOGRAM_BINS) {
    throw argumentError(`${HISTOGRAM_BINS} (the number of histogram bins)`, `${name}.counts.length`, counts.length, 'range');
  }
  let total = 0;
  let last = -1;
  for (let j = 0; j < HISTOGRAM_BINS; j++) {
    const c = counts[j];
    if (!(c >= 0) || c === Infinity) throw argumentError('a finite non-negative count', `${name}.counts[${j}]`, c, 'range');
    if (c > 0) {
      total += c;
      last = j;
    }
  }
  checkNumber(range, `${name}.range`);
  checkNumber(amax, `${name}.amax`);
  if (last >= 0) {
    // range 0 with counts is the native side's state before any non-zero value: only zeros seen,
    // all in bin 0. Anything else needs a positive range.
    if (range === 0 && (last > 0 || amax > 0)) {
      throw argumentError('a positive number (the histogram has counts)', `${name}.range`, range, 'range');
    }
  }
  if (amax > range) throw argumentError(`a number in [0, ${name}.range = ${range}]`, `${name}.amax`, amax, 'range');
  return { counts, range, amax, total, last };
}

function checkFraction(value: unknown, name: string, what: string, max: number): number {
  if (typeof value !== 'number') throw argumentError(what, name, value);
  if (!(value > 0 && value <= max)) throw argumentError(what, name, value, 'range');
  return value;
}

/**
 * Decision (threshold of a candidate): the upper edge of its first `bins` bins, bins * w, capped at
 * amax. P takes the whole of bin `bins` - 1 as representable, so the threshold must cover it;
 * Migacz's (m + 0.5) * w is half a bin above that edge, the centre (bins - 0.5) * w half a bin
 * below. The cap: a threshold above the largest value seen only wastes levels.
 */
function edge(h: CheckedHistogram, bins: number): number {
  return Math.min((bins * h.range) / HISTOGRAM_BINS, h.amax);
}

/**
 * Kullback-Leibler divergence KL(p || q) = Σ p_j ln(p_j / q_j), in nats, of two distributions given
 * as non-negative weights of the same length (each normalized here to sum 1). Terms with p_j = 0
 * contribute 0; a term with p_j > 0 and q_j = 0 makes the divergence Infinity (no smoothing here:
 * the entropy search smooths, see ZERO_Q_EPSILON_COUNT).
 *
 * @throws TypeError / RangeError when the arrays differ in length, hold a negative or non-finite
 *   weight, or sum to 0.
 */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const sp = checkWeights(p, 'p');
  const sq = checkWeights(q, 'q');
  if (q.length !== p.length) throw argumentError(`${p.length} (the length of p)`, 'q.length', q.length, 'range');
  let kl = 0;
  for (let j = 0; j < p.length; j++) {
    if (p[j] === 0) continue;
    if (q[j] === 0) return Infinity;
    const pj = p[j] / sp;
    kl += pj * Math.log(pj / (q[j] / sq));
  }
  return kl;
}

function checkWeights(a: ArrayLike<number>, name: string): number {
  if (a === null || typeof a !== 'object' || typeof a.length !== 'number') throw argumentError('an array of non-negative weights', name, a);
  let sum = 0;
  for (let j = 0; j < a.length; j++) {
    const v = a[j];
    if (typeof v !== 'number' || !(v >= 0) || v === Infinity)
      throw argumentError('a finite non-negative weight', `${name}[${j}]`, v, 'range');
    sum += v;
  }
  if (!(sum > 0)) throw argumentError('weights with a positive sum', name, sum, 'range');
  return sum;
}

/** The divergence of every candidate of the entropy search (see `entropyDivergences`). */
export interface EntropySearch {
  /** Number of bins of the first candidate: divergences[k] is that of the first firstBins + k bins. */
  readonly firstBins: number;
  /** KL(P || Q) per candidate, in nats; Infinity where Q has no mass at all. */
  readonly divergences: Float64Array;
}

/**
 * The KL divergence of every candidate of the entropy search, for tests and diagnostics:
 * candidate i (the first i bins, i from QUANTIZED_LEVELS to the last non-empty bin + 1) has
 * divergences[i - QUANTIZED_LEVELS]. Empty when the data occupy fewer than QUANTIZED_LEVELS
 * bins. See `entropyThreshold` for how P and Q are built.
 */
export function entropyDivergences(h: Histogram): EntropySearch {
  const c = checkHistogram(h);
  return { firstBins: QUANTIZED_LEVELS, divergences: divergencesOf(c) };
}

/**
 * Decision (bin 0): the counts the entropy search uses, the first `end` bins with bin 0 capped at
 * bin 1's count. Bin 0 holds the exact zeros (half of a ReLU output), which INT8 represents exactly
 * under every threshold, so they carry no information on the choice; left in, the spike makes any
 * level that merges bin 0 with its neighbours look costly and drags the threshold down to the
 * first candidates. Capping it keeps the density continuous at 0 for data without a spike and
 * never adds mass (NVIDIA's pytorch-quantization sets bin 0 to bin 1's count unconditionally).
 * Percentile, legacy and minmax use the histogram as it is.
 */
function searchCounts(counts: Float64Array, end: number): Float64Array {
  const c = Float64Array.from(counts.subarray(0, end));
  if (end > 1) c[0] = Math.min(c[0], c[1]);
  return c;
}

/**
 * The divergences of candidates i = 128 .. last + 1, with the work per candidate O(i) additions
 * and 128 logarithms. For a level k of candidate i (bins b with floor(b * 128 / i) == k), with
 * L_k its count, n_k its non-empty bins and F_k = Σ c_b ln c_b over them, p_b = c_b / N and
 * q_b = L_k / (n_k Q) (N all counts, Q the counts of the first i bins), so
 *   Σ_{b in k} p_b ln(p_b / q_b) = (F_k - L_k ln(L_k / n_k)) / N + (L_k / N) ln(Q / N),
 * which sums over the levels to Σ_k (F_k - L_k ln(L_k / n_k)) / N + (Q / N) ln(Q / N). The
 * bracket is a sum of within-level terms that vanish exactly for a level of one non-empty bin, so
 * an exact Q gives exactly 0. The last bin, which also holds the outliers, is then corrected.
 */
function divergencesOf(h: CheckedHistogram): Float64Array {
  const end = h.last + 1;
  if (end < QUANTIZED_LEVELS) return new Float64Array(0);
  const c = searchCounts(h.counts, end);
  const cLogC = new Float64Array(end);
  const prefix = new Float64Array(end + 1);
  for (let b = 0; b < end; b++) {
    cLogC[b] = c[b] > 0 ? c[b] * Math.log(c[b]) : 0;
    prefix[b + 1] = prefix[b] + c[b];
  }
  // The outliers of candidate i are a suffix sum; summing from the top keeps it exact for counts.
  const suffix = new Float64Array(end + 1);
  for (let b = end - 1; b >= 0; b--) suffix[b] = suffix[b + 1] + c[b];
  const total = prefix[end];
  const eps = ZERO_Q_EPSILON_COUNT / total;
  const out = new Float64Array(end - QUANTIZED_LEVELS + 1);
  for (let i = QUANTIZED_LEVELS; i <= end; i++) {
    const outliers = suffix[i];
    const kept = prefix[i];
    if (kept === 0) {
      out[i - QUANTIZED_LEVELS] = Infinity;
      continue;
    }
    let within = 0;
    let lastLevelCount = 0;
    let lastLevelBins = 0;
    for (let k = 0; k < QUANTIZED_LEVELS; k++) {
      // Decision (levels): bin b goes to level floor(b * 128 / i), so levels hold floor(i / 128)
      // or ceil(i / 128) bins, spread evenly, as a uniform quantizer over [0, i * w) would.
      const from = Math.ceil((k * i) / QUANTIZED_LEVELS);
      const to = Math.ceil(((k + 1) * i) / QUANTIZED_LEVELS);
      let count = 0;
      let bins = 0;
      let cLog = 0;
      for (let b = from; b < to; b++) {
        if (c[b] > 0) {
          count += c[b];
          bins++;
          cLog += cLogC[b];
        }
      }
      if (bins > 0) within += cLog - count * Math.log(count / bins);
      lastLevelCount = count;
      lastLevelBins = bins;
    }
    const keptShare = kept / total;
    let kl = within / total + keptShare * Math.log(keptShare);
    if (outliers > 0) {
      const cLast = c[i - 1];
      const pLast = (cLast + outliers) / total;
      if (cLast > 0) {
        // Replace the last bin's term c/N (ln c - ln(L/n) + ln(Q/N)) by p ln(p / q), q = L / (n Q).
        const meanLast = lastLevelCount / lastLevelBins;
        kl -= (cLast / total) * (Math.log(cLast) - Math.log(meanLast) + Math.log(keptShare));
        kl += pLast * Math.log((pLast * kept) / meanLast);
      } else {
        // Q is 0 there: smoothing (ZERO_Q_EPSILON_COUNT) gives it eps and scales the rest by 1 - eps,
        // whose P mass is kept / total.
        kl += pLast * Math.log(pLast / eps) - keptShare * Math.log1p(-eps);
      }
    }
    // KL >= 0; a negative value is rounding of an exact Q.
    out[i - QUANTIZED_LEVELS] = kl > 0 ? kl : 0;
  }
  return out;
}

/**
 * The entropy calibration threshold: the clipping point whose INT8 quantization loses the least
 * information, by the KL-divergence search of Migacz, "8-bit Inference with TensorRT" (GTC 2017).
 *
 * For every candidate i (the first i bins, i from 128 to the last non-empty bin + 1):
 * - P: the first i bins, with every count beyond them (the outliers, which INT8 would clip)
 *   folded into bin i - 1; normalized.
 * - Q: the first i bins without the outliers, quantized into 128 levels (bin b to level
 *   floor(b * 128 / i): levels of floor(i / 128) or ceil(i / 128) bins), each level's count then
 *   spread evenly over its non-empty bins (empty bins stay 0); normalized.
 * - divergence KL(P || Q), with an empty Q entry under a non-empty P entry smoothed
 *   (ZERO_Q_EPSILON_COUNT), and Infinity when Q has no mass at all.
 * The candidate of least divergence wins (ties within DIVERGENCE_TIE_TOLERANCE: the largest i), and
 * the threshold is its upper edge i * w (w = range / 2048), capped at amax.
 *
 * Decisions beyond the published description (docs/calibration.md):
 * - bin 0 counts min(bin 0, bin 1) in the search (see `searchCounts`);
 * - the empty bins of Q are those empty in P's source, the first i bins before the fold: a bin
 *   that holds only folded outliers gets no share of its level (then the smoothing applies);
 * - the search stops at the last non-empty bin, the one that holds amax: candidates beyond it
 *   clip nothing and waste levels, so when range > amax they are never considered;
 * - the threshold is the candidate's upper edge (the whole of bin i - 1 is represented; Migacz's
 *   (m + 0.5) * w is half a bin above it), capped at amax;
 * - when the data occupy fewer than 128 bins (the last non-empty bin < 127), there is no candidate:
 *   every bin already has a level of its own, so the threshold is amax. (Sparse data spread over
 *   more bins, with fewer than 128 non-empty, go through the search.)
 * - an empty histogram (all counts 0), or only zeros seen (amax 0), gives 0: the caller falls back.
 *
 * Cost: O(Σ i) additions and 128 logarithms per candidate, a few milliseconds per tensor.
 *
 * @throws TypeError / RangeError for a malformed histogram (see `Histogram`).
 */
export function entropyThreshold(h: Histogram): number {
  const c = checkHistogram(h);
  if (c.last < 0 || c.amax === 0) return 0;
  if (c.last + 1 < QUANTIZED_LEVELS) return c.amax;
  const divergences = divergencesOf(c);
  let best = Infinity;
  for (const d of divergences) if (d < best) best = d;
  // The last candidate (nothing clipped) always has Q = P's source and a finite divergence.
  let pick = divergences.length - 1;
  while (divergences[pick] > best + DIVERGENCE_TIE_TOLERANCE) pick--;
  return edge(c, QUANTIZED_LEVELS + pick);
}

/**
 * The minmax threshold: amax, the largest |x| seen (TensorRT's IInt8MinMaxCalibrator).
 *
 * @throws TypeError / RangeError for a malformed histogram.
 */
export function minmaxThreshold(h: Histogram): number {
  return checkHistogram(h).amax;
}

/**
 * The value below which `fraction` of the samples fall, interpolated linearly inside the bin
 * (the samples of a bin taken as spread evenly over it), capped at amax: with S the counts of
 * the bins below bin k, where S < fraction * N <= S + c_k, it is (k + (fraction * N - S) / c_k) * w.
 * Empty bins never hold the answer (the smallest such value is the upper edge of the bin before).
 */
function quantileOf(h: CheckedHistogram, fraction: number): number {
  if (h.last < 0) return 0;
  const w = h.range / HISTOGRAM_BINS;
  const target = fraction * h.total;
  let below = 0;
  for (let k = 0; k <= h.last; k++) {
    const c = h.counts[k];
    if (c === 0) continue;
    if (below + c >= target) return Math.min((k + Math.max(0, target - below) / c) * w, h.amax);
    below += c;
  }
  return h.amax;
}

/**
 * The percentile threshold: the value below which `percentile` % of the |x| samples fall (all
 * samples, the zeros included), interpolated linearly inside its bin, never above amax.
 * `percentile` 100 gives amax; an empty histogram gives 0.
 *
 * @param percentile in (0, 100], e.g. 99.99
 * @throws TypeError / RangeError for a malformed histogram or a percentile outside (0, 100].
 */
export function percentileThreshold(h: Histogram, percentile: number): number {
  const c = checkHistogram(h);
  checkFraction(percentile, 'percentile', 'a number in (0, 100]', 100);
  return quantileOf(c, percentile / 100);
}

/**
 * The legacy threshold, our reading of TensorRT's IInt8LegacyCalibrator, whose exact algorithm is
 * not published: its documentation names a quantile ("used to select the region maximum") and a
 * regression cutoff ("the fraction of the maximum"). We take the `quantile` of |x| (as
 * `percentileThreshold` with percentile = 100 * quantile), limited to regressionCutoff * amax.
 *
 * @param quantile in (0, 1], e.g. 0.9999
 * @param regressionCutoff in (0, 1], a fraction of amax, e.g. 1
 * @throws TypeError / RangeError for a malformed histogram or an argument outside (0, 1].
 */
export function legacyThreshold(h: Histogram, quantile: number, regressionCutoff: number): number {
  const c = checkHistogram(h);
  checkFraction(quantile, 'quantile', 'a number in (0, 1]', 1);
  checkFraction(regressionCutoff, 'regressionCutoff', 'a number in (0, 1]', 1);
  return Math.min(quantileOf(c, quantile), regressionCutoff * c.amax);
}

/**
 * The INT8 scale of a threshold: threshold / 127 (0 when the threshold is 0, which tells the
 * caller to fall back). The division is in double; the plan stores the scale as float32.
 *
 * @throws TypeError / RangeError when the threshold is not a finite non-negative number.
 */
export function scaleFromThreshold(threshold: number): number {
  checkNumber(threshold, 'threshold');
  return threshold === 0 ? 0 : threshold / 127;
}
