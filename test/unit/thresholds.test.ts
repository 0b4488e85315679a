// INT8 calibration thresholds (lib/calibration/thresholds.ts): the entropy (KL) search, minmax,
// percentile, legacy, and their argument errors. Histograms come from seeded samples binned as
// native/core/histogram.cc bins them, or from densities integrated per bin.
import { strict as assert } from 'assert';
import {
  entropyDivergences,
  entropyThreshold,
  HISTOGRAM_BINS,
  klDivergence,
  legacyThreshold,
  minmaxThreshold,
  percentileThreshold,
  scaleFromThreshold,
  ZERO_Q_EPSILON_COUNT,
  type Histogram,
} from '../../lib/calibration/thresholds';

const BINS = 2048;

/** A seeded uniform generator in [0, 1) (mulberry32). */
function uniformSource(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` seeded standard normal samples (Box-Muller). */
function normals(n: number, seed: number): Float64Array {
  const r = uniformSource(seed);
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const u = 1 - r();
    out[k] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

/** `n` seeded Laplace(0, 1) samples. */
function laplaces(n: number, seed: number): Float64Array {
  const r = uniformSource(seed);
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) out[k] = (r() < 0.5 ? -1 : 1) * -Math.log(1 - r());
  return out;
}

/**
 * The histogram of |values| as the native side builds it: range = max |x| (one batch) unless
 * given, bin floor(|x| * 2048 / range), clamped to the last bin.
 */
function histogramOf(values: ArrayLike<number>, range?: number): Histogram {
  let amax = 0;
  for (let k = 0; k < values.length; k++) amax = Math.max(amax, Math.abs(values[k]));
  const r = range ?? amax;
  const counts = new Float64Array(BINS);
  const per = BINS / r;
  for (let k = 0; k < values.length; k++) counts[Math.min(BINS - 1, Math.floor(Math.abs(values[k]) * per))]++;
  return { counts, range: r, amax };
}

/** A histogram with the given counts by bin (the rest 0). */
function histogramWith(bins: Record<number, number>, range: number, amax: number): Histogram {
  const counts = new Float64Array(BINS);
  for (const [b, c] of Object.entries(bins)) counts[Number(b)] = c;
  return { counts, range, amax };
}

/** `n` samples' worth of a density integrated over each bin of [0, range] (Simpson, 32 panels a bin). */
function histogramOfDensity(density: (x: number) => number, range: number, n: number): Histogram {
  const counts = new Float64Array(BINS);
  const w = range / BINS;
  const panels = 32;
  for (let b = 0; b < BINS; b++) {
    let s = 0;
    for (let k = 0; k <= panels; k++) s += (k === 0 || k === panels ? 1 : k % 2 ? 4 : 2) * density((b + k / panels) * w);
    counts[b] = (n * s * w) / (3 * panels);
  }
  return { counts, range, amax: range };
}

const halfNormalDensity = (x: number): number => Math.sqrt(2 / Math.PI) * Math.exp((-x * x) / 2);

/**
 * The entropy search written out literally, independent of the library's level-sum formula: for
 * each candidate i (every `stride`-th from 128, and the last), P and Q are built as arrays exactly
 * as docs/calibration.md describes them, with the same documented decisions (bin 0 capped at bin
 * 1, bin b in level floor(b * 128 / i), an empty Q entry under P > 0 given 1e-4 sample, ties to the
 * largest i, threshold i * w capped at amax), and KL summed term by term.
 */
function bruteForceEntropy(h: Histogram, stride: number): { threshold: number; divergences: Map<number, number> } {
  const c = Array.from(h.counts);
  c[0] = Math.min(c[0], c[1]);
  let last = BINS - 1;
  while (last > 0 && h.counts[last] === 0) last--;
  const total = c.reduce((a, b) => a + b, 0);
  const divergences = new Map<number, number>();
  const candidates: number[] = [];
  for (let i = 128; i <= last + 1; i += stride) candidates.push(i);
  if (candidates[candidates.length - 1] !== last + 1) candidates.push(last + 1);
  for (const i of candidates) {
    const p = c.slice(0, i);
    for (let b = i; b <= last; b++) p[i - 1] += c[b];
    const levelCount = new Array<number>(128).fill(0);
    const levelBins = new Array<number>(128).fill(0);
    for (let b = 0; b < i; b++) {
      if (c[b] > 0) {
        levelCount[Math.floor((b * 128) / i)] += c[b];
        levelBins[Math.floor((b * 128) / i)]++;
      }
    }
    const q = new Array<number>(i).fill(0);
    for (let b = 0; b < i; b++) if (c[b] > 0) q[b] = levelCount[Math.floor((b * 128) / i)] / levelBins[Math.floor((b * 128) / i)];
    const qSum = q.reduce((a, b) => a + b, 0);
    if (qSum === 0) {
      divergences.set(i, Infinity);
      continue;
    }
    const eps = ZERO_Q_EPSILON_COUNT / total;
    const holes = p.filter((pb, b) => pb > 0 && q[b] === 0).length;
    let kl = 0;
    for (let b = 0; b < i; b++) {
      if (p[b] === 0) continue;
      const pb = p[b] / total;
      const qb = q[b] === 0 ? eps : (q[b] / qSum) * (1 - holes * eps);
      kl += pb * Math.log(pb / qb);
    }
    divergences.set(i, kl);
  }
  const best = Math.min(...divergences.values());
  const pick = Math.max(...[...divergences].filter(([, d]) => d <= best + 1e-12).map(([i]) => i));
  return { threshold: Math.min((pick * h.range) / BINS, h.amax), divergences };
}

/** The library's divergence of candidate i. */
function divergenceAt(h: Histogram, i: number): number {
  const s = entropyDivergences(h);
  return s.divergences[i - s.firstBins];
}

/** Checks the library's divergences against the brute force's at its candidates, and returns both thresholds. */
function compareWithBruteForce(h: Histogram, stride: number): { threshold: number; expected: number } {
  const brute = bruteForceEntropy(h, stride);
  const search = entropyDivergences(h);
  for (const [i, d] of brute.divergences) {
    const ours = search.divergences[i - search.firstBins];
    assert.ok(Math.abs(ours - d) <= 1e-9 * Math.max(d, 1e-6), `candidate ${i}: divergence ${ours}, brute force ${d}`);
  }
  return { threshold: entropyThreshold(h), expected: brute.threshold };
}

/** Asserts that `fn` throws `type` with the package's message form, naming `name`. */
function throwsArgumentError(fn: () => unknown, type: typeof TypeError | typeof RangeError, name: string, what?: RegExp): void {
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof type, `expected a ${type.name}, got ${err.name}: ${err.message}`);
    assert.match(err.message, /^Expected .+ for .+ but received .+$/);
    assert.ok(err.message.includes(` for ${name} but received `), err.message);
    if (what) assert.match(err.message, what);
    return true;
  });
}

describe('calibration thresholds', () => {
  describe('entropyThreshold', () => {
    it('keeps all of a uniform distribution: the threshold is amax', () => {
      // Uniform on [0, 3], 1e6 samples, range = the sample max (one batch): every bin holds ~488
      // samples. Clipping even one bin folds 2/2048 of the mass into one bin that Q spreads over
      // its level, which costs ~1.9e-4 nats (computed: (2/2048) ln(2 * 2047/2048) + (2045/2048)
      // ln(2047/2048)), while the sampling noise moves divergences by ~1e-5: the last candidate
      // wins and the threshold is amax, within 3/1e6 of 3.
      const r = uniformSource(7);
      const h = histogramOf(Float64Array.from({ length: 1e6 }, () => 3 * r()));
      assert.equal(entropyThreshold(h), h.amax);
      assert.ok(h.amax > 3 - 3e-5 && h.amax < 3);
      assert.ok(divergenceAt(h, 2047) - divergenceAt(h, 2048) > 1e-4);
      // Exactly equal counts: Q equals P for the last candidate, divergence exactly 0, threshold a.
      const exact: Histogram = { counts: new Float64Array(BINS).fill(1000), range: 3, amax: 3 };
      assert.equal(divergenceAt(exact, 2048), 0);
      assert.equal(entropyThreshold(exact), 3);
    });

    it('searches only up to the bin of amax when the range grew beyond it', () => {
      // The same uniform samples with range 4 * amax (two doublings): the data fill bins 0..511.
      // Candidates stop at 512 bins and the threshold is amax, not range.
      const r = uniformSource(7);
      const values = Float64Array.from({ length: 1e6 }, () => 3 * r());
      const h = histogramOf(values, 12);
      assert.equal(entropyDivergences(h).divergences.length, 512 - 128 + 1);
      assert.equal(entropyThreshold(h), h.amax);
    });

    it('clips a half-normal |x| at 4.3-5 sigma (1e6 samples), as a brute-force search finds', () => {
      // |N(0, 1)|, 1e6 samples, 2048 bins over the sample max (4.9-5.5 here). The search trades the
      // cost of folding the tail into one bin against the finer levels of a smaller threshold; with
      // 1e6 samples it clips where only a few tens of samples lie beyond, or hardly at all: 4.35,
      // 4.90 and 4.95 sigma for seeds 1, 2, 3 (amax 4.89, 4.93, 5.47). That is more than the
      // 2.5-4 sigma one might guess; with the density integrated exactly (no sampling noise) the
      // optimum is 4.82 sigma (next test). The brute force runs over every candidate here: with
      // sampled tails the divergence curve is jagged (a candidate whose last bin is empty pays
      // the smoothing penalty, its neighbour may not), so a coarse grid can miss the minimum by
      // half a sigma; the exact density below has a smooth curve and is compared at stride 8.
      const expectedBySeed: Record<number, number> = { 1: 4.349555, 2: 4.902565, 3: 4.945841 };
      for (const seed of [1, 2, 3]) {
        const h = histogramOf(normals(1e6, seed));
        const { threshold, expected } = compareWithBruteForce(h, 1);
        assert.equal(threshold, expected, `seed ${seed}`);
        assert.ok(Math.abs(threshold - expectedBySeed[seed]) < 1e-6, `seed ${seed}: ${threshold}`);
        assert.ok(threshold > 4 && threshold < 5 && threshold <= h.amax, `seed ${seed}: ${threshold} (amax ${h.amax})`);
      }
    });

    it('clips an exactly integrated half-normal at 4.82 sigma, as a coarser brute-force search finds', () => {
      // Density integrated per bin over [0, 6] (no empty bins, no sampling noise): the optimum is
      // 1646 of 2048 bins, 4.822 sigma, whatever the total count (the divergence does not depend
      // on it). A brute force over every 8th candidate lands within 8 bins (it finds 4.828).
      for (const n of [1e6, 1e12]) {
        const h = histogramOfDensity(halfNormalDensity, 6, n);
        const { threshold, expected } = compareWithBruteForce(h, 8);
        assert.ok(Math.abs(threshold - expected) <= 8 * (6 / BINS), `${threshold} vs brute force ${expected}`);
        assert.equal(threshold, (1646 * 6) / BINS);
      }
    });

    it('clips a Laplace |x| well below its max, as a brute-force search finds', () => {
      // |Laplace(0, 1)| (exponential), 1e6 samples: 10.33 and 11.16 for seeds 4 and 5, where the
      // sample max is 13.32 and 14.17.
      const expectedBySeed: Record<number, number> = { 4: 10.329908, 5: 11.160796 };
      for (const seed of [4, 5]) {
        const h = histogramOf(laplaces(1e6, seed));
        const { threshold, expected } = compareWithBruteForce(h, 1);
        assert.equal(threshold, expected, `seed ${seed}`);
        assert.ok(Math.abs(threshold - expectedBySeed[seed]) < 1e-6, `seed ${seed}: ${threshold}`);
        assert.ok(threshold < h.amax - 2, `seed ${seed}: ${threshold} (amax ${h.amax})`);
      }
    });

    it('clips far outliers of a ReLU output and ignores its spike of zeros', () => {
      // max(0, N(0, 1)), 1e6 samples (half are exact zeros, all in bin 0), plus 5 outliers at
      // 10..14: range 14, w = 14/2048. The threshold lands in the Gaussian's tail, 660 bins =
      // 4.51 sigma, far below amax = 14. Bin 0 taken as it is (Migacz's description, read literally) would
      // give 1.75 = the first candidate (128 bins): any level that merges the 5e5 zeros with
      // their neighbours looks costly. Capping bin 0 at bin 1 avoids that.
      const g = normals(1e6, 1);
      const values = new Float64Array(1e6 + 5);
      for (let k = 0; k < 1e6; k++) values[k] = Math.max(0, g[k]);
      for (let k = 0; k < 5; k++) values[1e6 + k] = 10 + k;
      const h = histogramOf(values);
      assert.ok(h.counts[0] > 100 * h.counts[1]);
      const { threshold, expected } = compareWithBruteForce(h, 1);
      assert.equal(threshold, expected);
      assert.equal(threshold, (660 * 14) / BINS);
      // A million more zeros change nothing: bin 0 is capped at bin 1 either way.
      const moreZeros: Histogram = { ...h, counts: Float64Array.from(h.counts, (c, b) => (b === 0 ? c + 1e6 : c)) };
      assert.equal(entropyThreshold(moreZeros), threshold);
      // Outliers 40..44 behind a wide gap of empty bins are clipped too (the smoothing of empty Q
      // entries makes those candidates costly, not impossible): 209 of 2048 bins over 44, 4.49 sigma.
      for (let k = 0; k < 5; k++) values[1e6 + k] = 40 + k;
      const far = histogramOf(values);
      assert.equal(entropyThreshold(far), (209 * 44) / BINS);
    });

    it('gives amax when all the mass is in one bin', () => {
      // Bin 700 alone: every candidate below 701 bins has an empty Q (Infinity); 701 bins give
      // Q = P (divergence 0); the threshold is that edge capped at amax.
      assert.equal(entropyThreshold(histogramWith({ 700: 1000 }, 2048, 700.25)), 700.25);
      // Bin 5 or bin 0 alone: the data occupy fewer than 128 bins, no candidate: amax.
      assert.equal(entropyThreshold(histogramWith({ 5: 1000 }, 2048, 5.5)), 5.5);
      assert.equal(entropyThreshold(histogramWith({ 0: 1000 }, 1, 1e-4)), 1e-4);
    });

    it('gives 0 for an empty histogram and for one of zeros only (the caller falls back)', () => {
      assert.equal(entropyThreshold(histogramWith({}, 1, 0)), 0);
      assert.equal(entropyThreshold(histogramWith({}, 0, 0)), 0);
      // The native side's state when only zeros were seen: range 0, all counts in bin 0.
      assert.equal(entropyThreshold(histogramWith({ 0: 4096 }, 0, 0)), 0);
    });

    it('handles fewer than 128 non-empty bins', () => {
      // Decreasing counts in bins 0..99 (w = 1): no candidate of 128 bins or more, so amax.
      const bulk: Record<number, number> = {};
      for (let b = 0; b < 100; b++) bulk[b] = 1000 - 9 * b;
      assert.equal(entropyThreshold(histogramWith(bulk, 2048, 99.5)), 99.5);
      // The same plus one outlier in bin 2000: 101 non-empty bins, and the search runs. 128 bins give
      // every bulk bin a level of its own; 129 bins merge only bins 0 and 1, equal after the cap
      // (tie: the larger wins); 130 bins and more merge unequal bins. The outlier is clipped: 129.
      const withOutlier = histogramWith({ ...bulk, 2000: 1 }, 2048, 2000.5);
      const d = entropyDivergences(withOutlier).divergences;
      assert.equal(d[0], d[1]);
      assert.ok(d[2] > d[1]);
      assert.equal(entropyThreshold(withOutlier), 129);
      // Ten values spread over the range: 10 non-empty bins; only the last candidate reproduces
      // them (each alone in a level), so nothing is clipped.
      const discrete: Record<number, number> = {};
      for (let k = 0; k < 10; k++) discrete[200 * k + 7] = 100 + k;
      assert.equal(entropyThreshold(histogramWith(discrete, 2048, 1807.5)), 1807.5);
    });

    it('breaks ties between equal divergences toward the larger threshold', () => {
      // 5 samples in bin 127 and 3 in bin 255 (w = 1): 128 bins fold the 3 into bin 127, where Q
      // holds everything: divergence exactly 0; 256 bins put the two bins in levels 63 and 127:
      // exactly 0 too. In between the fold lands in an empty bin (smoothing): 3.57 nats.
      // The tie goes to 256 bins, capped at amax = 255.5: nothing is clipped.
      const h = histogramWith({ 127: 5, 255: 3 }, 2048, 255.5);
      const d = entropyDivergences(h).divergences;
      assert.equal(d[0], 0);
      assert.equal(d[128], 0);
      assert.ok(d[1] > 3.5 && d[64] === d[1]);
      assert.equal(entropyThreshold(h), 255.5);
    });

    it('searches a full histogram in well under 50 ms', () => {
      // The worst case: every bin non-empty, 1921 candidates. Expected a few ms.
      const h = histogramOfDensity((x) => Math.exp(-x), 8, 1e7);
      entropyThreshold(h);
      const times: number[] = [];
      for (let k = 0; k < 5; k++) {
        const t0 = performance.now();
        entropyThreshold(h);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      assert.ok(times[2] < 50, `median ${times[2].toFixed(1)} ms`);
    });
  });

  describe('minmaxThreshold', () => {
    it('is amax, whatever the counts', () => {
      const h = histogramOf(normals(1000, 9), 16);
      assert.equal(minmaxThreshold(h), h.amax);
      assert.equal(minmaxThreshold(histogramWith({ 3: 1 }, 4, 2.75)), 2.75);
      assert.equal(minmaxThreshold(histogramWith({}, 0, 0)), 0);
    });
  });

  describe('percentileThreshold', () => {
    const uniform: Histogram = { counts: new Float64Array(BINS).fill(1000), range: 1, amax: 1 };

    it('is exact on a uniform histogram', () => {
      // Every bin holds 1000 samples spread evenly: the p-th percentile of U(0, 1) is p / 100.
      for (const p of [0.01, 25, 50, 99, 99.9, 99.99]) {
        assert.ok(Math.abs(percentileThreshold(uniform, p) - p / 100) < 1e-12, `p ${p}: ${percentileThreshold(uniform, p)}`);
      }
      assert.equal(percentileThreshold(uniform, 100), 1);
    });

    it('interpolates inside the bin and never exceeds amax', () => {
      // w = 1; 10 samples in bin 1, 30 in bin 2, amax 2.9. The 50th percentile (20 samples) is 10
      // samples into bin 2: 2 + 10/30. The 25th (10 samples) ends bin 1: its upper edge 2. The
      // 100th would be the upper edge of bin 2, 3, above amax: 2.9.
      const h = histogramWith({ 1: 10, 2: 30 }, 2048, 2.9);
      assert.ok(Math.abs(percentileThreshold(h, 50) - (2 + 1 / 3)) < 1e-12);
      assert.equal(percentileThreshold(h, 25), 2);
      assert.equal(percentileThreshold(h, 100), 2.9);
      // Counts every sample, the zeros too: 90 zeros and 10 in bin 1000 (w = 1): the 50th is in bin 0.
      const spiky = histogramWith({ 0: 90, 1000: 10 }, 2048, 1000.5);
      assert.ok(Math.abs(percentileThreshold(spiky, 45) - 0.5) < 1e-12);
      // Empty bins never hold the answer: 95 % ends exactly at the top of bin 0.
      assert.equal(percentileThreshold(spiky, 90), 1);
      assert.ok(Math.abs(percentileThreshold(spiky, 95) - 1000.5) < 1e-12);
    });

    it('gives 0 for an empty histogram', () => {
      assert.equal(percentileThreshold(histogramWith({}, 1, 0), 99.99), 0);
    });
  });

  describe('legacyThreshold', () => {
    const uniform: Histogram = { counts: new Float64Array(BINS).fill(1000), range: 1, amax: 1 };

    it('is the quantile of |x|, limited to regressionCutoff * amax', () => {
      assert.ok(Math.abs(legacyThreshold(uniform, 0.9999, 1) - 0.9999) < 1e-12);
      assert.ok(Math.abs(legacyThreshold(uniform, 0.9999, 1) - percentileThreshold(uniform, 99.99)) < 1e-15);
      assert.equal(legacyThreshold(uniform, 0.9999, 0.5), 0.5);
      assert.equal(legacyThreshold(uniform, 1, 1), 1);
      const h = histogramWith({ 1: 10, 2: 30 }, 2048, 2.9);
      assert.ok(Math.abs(legacyThreshold(h, 0.5, 1) - (2 + 1 / 3)) < 1e-12);
      assert.ok(Math.abs(legacyThreshold(h, 0.5, 0.5) - 1.45) < 1e-12);
    });
  });

  describe('klDivergence', () => {
    it('is Σ p ln(p / q) of the normalized weights', () => {
      // 0.5 ln(0.5 / 0.25) + 0.5 ln(0.5 / 0.75) = 0.5 ln(4 / 3).
      assert.ok(Math.abs(klDivergence([0.5, 0.5], [0.25, 0.75]) - 0.5 * Math.log(4 / 3)) < 1e-15);
      assert.ok(Math.abs(klDivergence([2, 2], [1, 3]) - 0.5 * Math.log(4 / 3)) < 1e-15);
      assert.equal(klDivergence(Float64Array.of(1, 2, 3), Float64Array.of(2, 4, 6)), 0);
      // Terms with p = 0 add nothing; q = 0 under p > 0 is infinite.
      assert.ok(Math.abs(klDivergence([1, 0], [1, 1]) - Math.log(2)) < 1e-15);
      assert.equal(klDivergence([1, 1], [1, 0]), Infinity);
    });

    it('refuses arrays it cannot compare', () => {
      throwsArgumentError(() => klDivergence([1, 1], [1]), RangeError, 'q.length', /Expected 2 \(the length of p\)/);
      throwsArgumentError(() => klDivergence([1, -1], [1, 1]), RangeError, 'p[1]');
      throwsArgumentError(() => klDivergence([1, 1], [NaN, 1]), RangeError, 'q[0]');
      throwsArgumentError(() => klDivergence([0, 0], [1, 1]), RangeError, 'p');
      throwsArgumentError(() => klDivergence(null as unknown as number[], [1]), TypeError, 'p');
    });
  });

  describe('scaleFromThreshold', () => {
    it('is threshold / 127, and 0 for 0', () => {
      assert.equal(scaleFromThreshold(127), 1);
      assert.equal(scaleFromThreshold(2.54), 2.54 / 127);
      assert.equal(scaleFromThreshold(0), 0);
      throwsArgumentError(() => scaleFromThreshold(-1), RangeError, 'threshold');
      throwsArgumentError(() => scaleFromThreshold(NaN), RangeError, 'threshold');
      throwsArgumentError(() => scaleFromThreshold('1' as unknown as number), TypeError, 'threshold');
    });
  });

  describe('argument errors', () => {
    const good = (): Histogram => histogramWith({ 3: 1 }, 4, 2);
    const all = [
      (h: Histogram) => entropyThreshold(h),
      (h: Histogram) => minmaxThreshold(h),
      (h: Histogram) => percentileThreshold(h, 99),
      (h: Histogram) => legacyThreshold(h, 0.99, 1),
      (h: Histogram) => entropyDivergences(h),
    ];

    it('refuses a malformed histogram, in every function', () => {
      for (const f of all) {
        throwsArgumentError(() => f(null as unknown as Histogram), TypeError, 'h');
        throwsArgumentError(
          () => f({ ...good(), counts: Array.from(good().counts) as unknown as Float64Array }),
          TypeError,
          'h.counts',
          /Expected a Float64Array of 2048 counts/,
        );
        throwsArgumentError(
          () => f({ ...good(), counts: new Float64Array(2047) }),
          RangeError,
          'h.counts.length',
          /Expected 2048 \(the number of histogram bins\) for h.counts.length but received type number \(2047\)/,
        );
        const negative = good();
        negative.counts[5] = -1;
        throwsArgumentError(() => f(negative), RangeError, 'h.counts[5]', /received type number \(-1\)/);
        const nan = good();
        nan.counts[9] = NaN;
        throwsArgumentError(() => f(nan), RangeError, 'h.counts[9]', /\(NaN\)/);
        throwsArgumentError(() => f({ ...good(), range: 0 }), RangeError, 'h.range', /a positive number/);
        throwsArgumentError(() => f({ ...good(), range: -4 }), RangeError, 'h.range');
        throwsArgumentError(() => f({ ...good(), range: NaN }), RangeError, 'h.range');
        throwsArgumentError(() => f({ ...good(), range: '4' as unknown as number }), TypeError, 'h.range');
        throwsArgumentError(() => f({ ...good(), amax: 5 }), RangeError, 'h.amax', /in \[0, h.range = 4\]/);
        throwsArgumentError(() => f({ ...good(), amax: -1 }), RangeError, 'h.amax');
      }
      assert.equal(HISTOGRAM_BINS, BINS);
    });

    it('refuses a percentile outside (0, 100] and legacy parameters outside (0, 1]', () => {
      for (const p of [0, -1, 100.5, NaN, Infinity])
        throwsArgumentError(() => percentileThreshold(good(), p), RangeError, 'percentile', /\(0, 100\]/);
      throwsArgumentError(() => percentileThreshold(good(), '99' as unknown as number), TypeError, 'percentile');
      for (const q of [0, 1.5, NaN]) throwsArgumentError(() => legacyThreshold(good(), q, 1), RangeError, 'quantile', /\(0, 1\]/);
      for (const r of [0, 2, NaN]) throwsArgumentError(() => legacyThreshold(good(), 0.99, r), RangeError, 'regressionCutoff', /\(0, 1\]/);
      throwsArgumentError(() => legacyThreshold(good(), 0.99, undefined as unknown as number), TypeError, 'regressionCutoff');
    });
  });
});
