// `tensorrt-node info` (issue 17): the addon loaded and why, what it was built with, the backends,
// GPUs, glibc, threads, and every binary of the package read without loading it (lib/cli/binary_scan.ts).
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { backendStatus } from '../../lib/backends';
import { buildInfo } from '../../lib/device';
import { cudaRelease, scanBinary, scanBinaryFile } from '../../lib/cli/binary_scan';
import { codeFor, kernelModuleVersion, listBinaries, type InfoReport } from '../../lib/cli/info';
import { nativePath } from '../../lib/native';
import { runCli as run } from '../support/cli';

const ROOT = path.resolve(__dirname, '../../..');

describe('cli: info', function () {
  this.timeout(60000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-info-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--json: package and addon versions, the loaded binary and why, backends with reasons, glibc, threads', async () => {
    const r = await run('info', '--json');
    assert.equal(r.code, 0, r.err);
    const info = JSON.parse(r.out) as InfoReport;
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(info.package.version, pkg.version);
    assert.equal(info.addon.loaded, true);
    assert.equal(info.addon.path, nativePath());
    assert.equal(info.addon.build?.version, buildInfo().version);
    assert.deepEqual(info.addon.build?.cudaArchs, buildInfo().cudaArchs);
    assert.match(
      info.addon.why,
      /local build of this git checkout|prebuilt binary of this git checkout|prebuilt binary of the package|TENSORRT_NODE_ADDON|node-gyp-build/,
    );
    assert.deepEqual(info.backends, backendStatus());
    assert.equal(
      info.node.glibc,
      (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime ?? null,
    );
    assert.equal(info.threads.cores, os.availableParallelism());
    assert.equal(info.tensorrtModule.available, backendStatus()[0].available);
    assert.equal(info.gpus.length, info.driver.cudaVersion === null ? 0 : info.gpus.length);
    const loaded = info.binaries.filter((b) => b.loaded);
    assert.equal(loaded.length, 1, 'the loaded binary is among the binaries listed');
    assert.deepEqual(loaded[0].cudaArchs, buildInfo().cudaArchs, 'the file scan agrees with buildInfo() of the loaded addon');
    assert.equal(loaded[0].cudaVersion, buildInfo().cuda ? buildInfo().cudaVersion : undefined);
  });

  it('prints a table for people, and --help says how the loader chooses', async () => {
    const r = await run('info');
    assert.equal(r.code, 0, r.err);
    for (const heading of ['Addon', 'Driver', 'Backends', 'TensorRT module', 'Threads', 'Binaries in the package']) {
      assert.match(r.out, new RegExp(`^${heading}$`, 'm'), heading);
    }
    assert.match(r.out, /^tensorrt-node \d+\.\d+\.\d+ \(Node\.js /);
    assert.match(r.out, /^ {2}cpu +available$/m);
    assert.match(r.out, /^ {2}libuv pool +\d+ /m);
    const help = await run('help', 'info');
    assert.match(help.out, /TENSORRT_NODE_ADDON names, then prebuilds\/<platform>-<arch>\/\*\.node/);
    assert.match((await run('--help')).out, /^ {2}info +Show this installation/m);
    assert.equal((await run('info', 'x')).code, 2);
  });

  it("scanBinary reads the fatbinary's architectures, the CUDA release and the glibc needed, and refuses other files", async () => {
    const facts = await scanBinaryFile(nativePath() as string);
    assert.equal(facts.format, 'ELF64');
    assert.match(facts.glibc ?? '', /^2\.\d+$/);
    if (buildInfo().cuda) assert.ok(facts.cudaArchs.length > 0 && facts.cudaArchs.every((a) => /^(sm|compute)_\d+$/.test(a)));
    assert.deepEqual(scanBinary(Buffer.from('{"not":"elf"}')), { format: 'not a 64-bit little-endian ELF file', cudaArchs: [] });
    // A truncated binary: its section table lies past the end; refused, not a crash.
    const head = fs.readFileSync(nativePath() as string).subarray(0, 4096);
    assert.deepEqual(scanBinary(head), { format: 'not a 64-bit little-endian ELF file', cudaArchs: [] });
  });

  it("the CUDA release: the addon's own marker, else NVIDIA nvcc's string (Debian's nvcc writes none)", () => {
    const bytes = (s: string) => Buffer.from(`\0\0${s}\0\0`, 'latin1');
    assert.equal(cudaRelease(bytes('tensorrt-node built with CUDA release 12.4')), '12.4');
    assert.equal(cudaRelease(bytes('Cuda compilation tools, release 13.0, V13.0.88')), '13.0');
    assert.equal(cudaRelease(bytes('tensorrt-node built with CUDA release 12.4\0Cuda compilation tools, release 13.0')), '12.4');
    assert.equal(cudaRelease(bytes('nothing')), undefined);
    if (buildInfo().cuda) assert.equal(cudaRelease(fs.readFileSync(nativePath() as string)), buildInfo().cudaVersion);
  });

  it('lists every variant of prebuilds/ with its tags, and says why the loader chose one', async () => {
    const root = path.join(dir, 'pkg');
    const plat = `${process.platform}-${process.arch}`;
    fs.mkdirSync(path.join(root, 'prebuilds', plat), { recursive: true });
    fs.mkdirSync(path.join(root, 'prebuilds', 'linux-arm64'), { recursive: true });
    const a = path.join(root, 'prebuilds', plat, 'tensorrt-node.glibc.cuda12.node');
    const b = path.join(root, 'prebuilds', plat, 'tensorrt-node.glibc.cuda13.node');
    fs.copyFileSync(nativePath() as string, a);
    fs.writeFileSync(b, 'not a binary');
    fs.writeFileSync(path.join(root, 'prebuilds', 'linux-arm64', 'tensorrt-node.node'), 'x');
    const list = await listBinaries(root, b, {}, '2.99');
    assert.deepEqual(
      list.map((x) => [x.folder, x.tags, x.loaded]),
      [
        ['prebuilds/linux-arm64', [], false],
        [`prebuilds/${plat}`, ['glibc', 'cuda12'], false],
        [`prebuilds/${plat}`, ['glibc', 'cuda13'], true],
      ],
    );
    assert.deepEqual(list[1].cudaArchs, buildInfo().cudaArchs);
    assert.equal(list[1].glibcOk, true);
    assert.equal((await listBinaries(root, null, {}, '2.17'))[1].glibcOk, false, 'needs a newer glibc than 2.17');
  });

  it("reads the kernel module's version from /proc/driver/nvidia/version, proprietary or open", () => {
    assert.equal(
      kernelModuleVersion('NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n'),
      '535.104.05',
    );
    assert.equal(
      kernelModuleVersion('NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.95.05  Release Build  (dvs-builder@U16)\n'),
      '580.95.05',
    );
    assert.equal(kernelModuleVersion(''), null);
  });

  it('codeFor: machine code of the GPU generation, else PTX the driver compiles, else none', () => {
    const archs = ['sm_75', 'sm_80', 'sm_89', 'sm_90', 'compute_90'];
    assert.equal(codeFor(8, 6, archs), 'sm_80');
    assert.equal(codeFor(9, 0, archs), 'sm_90');
    assert.match(codeFor(10, 0, archs), /^compute_90 \(PTX/);
    assert.equal(codeFor(6, 1, archs), 'none');
    assert.equal(codeFor(6, 1, ['sm_52', 'sm_61', 'compute_61']), 'sm_61');
  });
});
