// scripts/check-prebuild.sh, which `npm pack` runs as prepack (issue 17, glibc baseline): a
// prebuilt addon may need at most GLIBC_2.31 and no GLIBCXX_ / CXXABI_ (libstdc++ and libgcc
// linked statically, as scripts/build-prebuild-bullseye.sh builds it), and must be the CUDA build.
// Nothing to pack, a file that is no shared object, and the default build (dynamic libstdc++) fail
// with the command that builds the right one.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BUILT_ADDON, ROOT } from '../support/fake_package';

const SCRIPT = path.join(ROOT, 'scripts', 'check-prebuild.sh');
const BASELINE = path.join(ROOT, 'prebuilds', 'linux-x64', 'tensorrt-node.glibc.node');
const HINT = /build it with scripts\/build-prebuild-bullseye\.sh \(npm run prebuilds:glibc; the CUDA 12 one: npm run prebuilds:cuda12\)/;

function check(args: string[], root = ROOT): { status: number | null; out: string } {
  const script = path.join(root, 'scripts', 'check-prebuild.sh');
  const r = spawnSync('bash', [script, ...args], { encoding: 'utf8', timeout: 120000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

function hasObjdump(): boolean {
  return spawnSync('objdump', ['--version']).status === 0;
}

describe('scripts/check-prebuild.sh (prepack)', function () {
  this.timeout(120000);
  let scratch: string;
  before(function () {
    if (process.platform !== 'linux' || !hasObjdump()) this.skip();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-check-'));
    fs.mkdirSync(path.join(scratch, 'scripts'));
    fs.copyFileSync(SCRIPT, path.join(scratch, 'scripts', 'check-prebuild.sh'));
  });
  after(() => scratch && fs.rmSync(scratch, { recursive: true, force: true }));

  it('package.json runs it as prepack, and names the baseline build prebuilds:glibc', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts.prepack, 'bash scripts/check-prebuild.sh');
    assert.equal(pkg.scripts['prebuilds:glibc'], 'bash scripts/build-prebuild-bullseye.sh');
    assert.equal(pkg.scripts['prebuilds:cuda12'], 'bash scripts/build-prebuild-cuda12.sh');
  });

  it('no prebuild to pack: exit 1 naming the script that builds one', () => {
    const r = check([], scratch);
    assert.equal(r.status, 1);
    assert.match(r.out, /check-prebuild: FAIL: no prebuilt addon in .*prebuilds\/linux-x64\/ to pack/);
    assert.match(r.out, HINT);
  });

  it('a file that is not a shared object fails, one verdict line per file', () => {
    const bad = path.join(scratch, 'prebuilds', 'linux-x64', 'tensorrt-node.glibc.node');
    fs.mkdirSync(path.dirname(bad), { recursive: true });
    fs.writeFileSync(bad, 'not an ELF file');
    const r = check([], scratch);
    assert.equal(r.status, 1);
    assert.match(r.out, /^FAIL prebuilds\/linux-x64\/tensorrt-node\.glibc\.node: objdump -T failed/m);
    const missing = check([path.join(scratch, 'nothing.node')], scratch);
    assert.equal(missing.status, 1);
    assert.match(missing.out, /^FAIL .*nothing\.node: no such file$/m);
  });

  it('the default build (libstdc++ linked dynamically) fails: it needs GLIBCXX_', function () {
    // build/Release may hold a copy of the baseline binary (a developer testing it): only a binary
    // that links libstdc++.so is the case this test is about.
    if (!fs.existsSync(BUILT_ADDON)) this.skip();
    const needed = spawnSync('objdump', ['-p', BUILT_ADDON], { encoding: 'utf8' }).stdout;
    if (!/NEEDED\s+libstdc\+\+\.so/.test(needed)) this.skip();
    const r = check([BUILT_ADDON]);
    assert.equal(r.status, 1, r.out);
    assert.match(
      r.out,
      /^FAIL .*tensorrt_node\.node \(.*\): .*needs .*GLIBCXX_3\.4\.\d+.*\(libstdc\+\+ \/ libgcc not linked statically\)/m,
    );
    assert.match(r.out, HINT);
  });

  it('a cudaNN tag must match the CUDA the binary was built with (the loader trusts it)', function () {
    if (!fs.existsSync(BASELINE)) this.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-tag-'));
    try {
      const wrong = path.join(dir, 'tensorrt-node.cuda11.glibc.node');
      fs.copyFileSync(BASELINE, wrong);
      const r = check([wrong]);
      assert.equal(r.status, 1, r.out);
      assert.match(r.out, /^FAIL .*tensorrt-node\.cuda11\.glibc\.node \(.*\): its tag says cuda11 but it was built with CUDA \d+\.\d+ /m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the baseline prebuild, where it was built here, passes: GLIBC_2.31 at most, no GLIBCXX_, the CUDA build', function () {
    if (!fs.existsSync(BASELINE)) this.skip();
    const r = check([BASELINE]);
    assert.equal(r.status, 0, r.out);
    assert.match(
      r.out,
      /^PASS prebuilds\/linux-x64\/tensorrt-node\.glibc\.node \(.*\): max GLIBC_2\.\d+ <= 2\.31, no GLIBCXX_\/CXXABI_\/GCC_, .*CUDA \d+\.\d+ /m,
    );
  });
});
