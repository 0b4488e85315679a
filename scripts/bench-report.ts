/**
 * Puts our engine's GPU benchmark (scripts/bench-gpu.ts) next to the PyTorch peer measured in the
 * same run (scripts/peers/bench-peer.sh, merged into one peer.json by scripts/gpu-session.sh):
 * images/s of each, and our ratio to PyTorch fp16 (the bar) and to PyTorch at the same
 * precision (int8 against PyTorch fp16: PyTorch has no INT8 convolution path).
 *   node dist/scripts/bench-report.js bench.json peer.json out.json   (also prints a markdown table)
 */
import * as fs from 'fs';

interface OurRow {
  network: string;
  precision: string;
  batch: number;
  imagesPerSecond?: number;
  computeMs?: number;
  error?: string;
}
interface PeerRow {
  batch: number;
  oom?: boolean;
  graph?: { ms: number };
}
type PeerDoc = Record<string, { environment: unknown; settings: unknown; precisions: Record<string, { rows: PeerRow[] }> }>;

function main(): void {
  const [benchFile, peerFile, outFile] = process.argv.slice(2);
  if (outFile === undefined) throw new Error('usage: bench-report <bench.json> <peer.json> <out.json>');
  const ours = JSON.parse(fs.readFileSync(benchFile, 'utf8')) as { rows: OurRow[] } & Record<string, unknown>;
  const peer = JSON.parse(fs.readFileSync(peerFile, 'utf8')) as PeerDoc;
  const peerIps = (net: string, precision: string, batch: number): number | undefined => {
    const row = peer[net]?.precisions[precision]?.rows.find((r) => r.batch === batch);
    return row?.graph === undefined ? undefined : (batch * 1000) / row.graph.ms;
  };
  const rows = ours.rows.map((r) => {
    const fp16 = peerIps(r.network, 'fp16', r.batch);
    const same = peerIps(r.network, r.precision === 'int8' ? 'fp16' : r.precision, r.batch);
    const ip = r.imagesPerSecond;
    return {
      network: r.network,
      precision: r.precision,
      batch: r.batch,
      oursImagesPerSecond: ip,
      oursComputeMs: r.computeMs,
      torchImagesPerSecond: same,
      torchFp16ImagesPerSecond: fp16,
      ratioToTorchSamePrecision: ip !== undefined && same !== undefined ? ip / same : undefined,
      ratioToTorchFp16: ip !== undefined && fp16 !== undefined ? ip / fp16 : undefined,
      error: r.error,
    };
  });
  const first = Object.values(peer)[0];
  const doc = {
    what: 'cuda backend vs PyTorch (cuDNN, channels_last, CUDA graphs), GPU compute images/s, measured in one device call',
    date: ours.date,
    commit: ours.commit,
    gpu: ours.gpu,
    driverVersion: ours.driverVersion,
    ours: {
      settings:
        'median GPU compute time of 30 inferences (CUDA events, copies excluded); engines built for each batch, tactics timed at that batch',
    },
    torch: { environment: first?.environment, settings: first?.settings },
    rows,
  };
  fs.writeFileSync(outFile, JSON.stringify(doc, null, 1) + '\n');
  const f = (x: number | undefined, d = 0) =>
    x === undefined ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log('| network | precision | batch | ours img/s | PyTorch img/s (same precision; int8: fp16) | ratio | ratio to PyTorch fp16 |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.network} | ${r.precision} | ${r.batch} | ${f(r.oursImagesPerSecond)} | ${f(r.torchImagesPerSecond)} | ` +
        `${f(r.ratioToTorchSamePrecision, 2)} | ${f(r.ratioToTorchFp16, 2)} |`,
    );
  }
}

main();
