// scripts/install.js, the package's `npm install` hook (issue 17, "install never fails"): it keeps
// a prebuilt binary that loads, compiles the host-only addon with node-gyp when none does, and when
// that fails too it exits 0 with one message naming what the cpu backend needs and the command
// that builds it. Run here in fake package folders, with node-gyp stood in for by small scripts
// passed the way npm passes its own (npm_config_node_gyp), and cmake-js by a fake package.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { BUILT_ADDON, ROOT, fakePackage, type FakePackage } from '../support/fake_package';

const INSTALL = `require('./scripts/install.js')`;

describe('install script (scripts/install.js)', function () {
  this.timeout(120000);
  const made: FakePackage[] = [];
  const make = (checkout = false): FakePackage => {
    const p = fakePackage({ checkout, scripts: true });
    made.push(p);
    return p;
  };
  after(() => made.forEach((p) => p.remove()));

  /** A stand-in for node-gyp: records that it ran (and its arguments), then does `body` (JS). */
  function fakeNodeGyp(pkg: FakePackage, body: string): { script: string; marker: string } {
    const marker = path.join(pkg.root, 'node-gyp-ran');
    const script = pkg.put('fake-node-gyp.js', {
      text: `require('fs').writeFileSync(${JSON.stringify(marker)}, process.argv.slice(2).join(' '));\n${body}\n`,
    });
    return { script, marker };
  }

  const copyAddon = `const fs = require('fs'); fs.mkdirSync('build/Release', { recursive: true });
    fs.copyFileSync(${JSON.stringify(BUILT_ADDON)}, 'build/Release/tensorrt_node.node');`;

  before(function () {
    if (!fs.existsSync(BUILT_ADDON)) this.skip();
  });

  it('no prebuild and a compile that fails: exits 0 with one message naming the host-only build and npm rebuild', () => {
    const pkg = make();
    const gyp = fakeNodeGyp(pkg, `console.error('gyp ERR! find Python'); process.exit(1);`);
    const r = pkg.run(INSTALL, { npm_config_node_gyp: gyp.script });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(gyp.marker, 'utf8'), 'rebuild');
    assert.match(r.stderr, /gyp ERR! find Python/);
    const message = r.stderr.slice(r.stderr.indexOf('tensorrt-node: installed WITHOUT its native addon.'));
    assert.match(message, /^tensorrt-node: installed WITHOUT its native addon\.\n/);
    assert.match(message, /No prebuilt binary loads here \(node-gyp-build: No native build was found for platform=/);
    assert.match(message, /and the host-only addon \(cpu backend\) could not be compiled \(node-gyp exited with code 1\)/);
    assert.match(
      message,
      /The host-only build needs a C\+\+17 compiler, make and python3 \(Debian\/Ubuntu: sudo apt-get install build-essential python3;/,
    );
    assert.match(message, /Install them, then run: npm rebuild tensorrt-node --foreground-scripts/);
    assert.equal(message.split('build-essential').length, 2, 'the fix is said once');
    assert.ok(!fs.existsSync(path.join(pkg.root, 'build', 'Release', 'tensorrt_node.node')));
  });

  it('node-gyp that cannot be run at all: still exits 0 with the message', () => {
    const pkg = make();
    const r = pkg.run(INSTALL, { npm_config_node_gyp: path.join(pkg.root, 'no', 'such', 'node-gyp') });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /could not be compiled \(.*no\/such\/node-gyp could not be run: spawnSync .* ENOENT\)/);
    assert.match(r.stderr, /npm rebuild tensorrt-node --foreground-scripts/);
  });

  it('a compile that succeeds: the built addon loads and no message is printed', () => {
    const pkg = make();
    const gyp = fakeNodeGyp(pkg, copyAddon);
    const r = pkg.run(INSTALL, { npm_config_node_gyp: gyp.script });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.existsSync(gyp.marker));
    assert.match(r.stdout, /tensorrt-node: addon build\/Release\/tensorrt_node\.node loads \(backends: cpu/);
    assert.doesNotMatch(r.stderr, /WITHOUT/);
  });

  it('a compile whose result does not load: the message says so', () => {
    const pkg = make();
    const gyp = fakeNodeGyp(
      pkg,
      `const fs = require('fs'); fs.mkdirSync('build/Release', { recursive: true });
      fs.writeFileSync('build/Release/tensorrt_node.node', 'garbage');`,
    );
    const r = pkg.run(INSTALL, { npm_config_node_gyp: gyp.script });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /could not be compiled \(node-gyp built it, but it does not load: .*build\/Release\/tensorrt_node\.node/);
  });

  it('a prebuild that loads: nothing is compiled', () => {
    const pkg = make();
    pkg.put(path.join(path.relative(pkg.root, pkg.prebuildDir), 'tensorrt-node.node'), { copyOf: BUILT_ADDON });
    const gyp = fakeNodeGyp(pkg, 'process.exit(1);');
    const r = pkg.run(INSTALL, { npm_config_node_gyp: gyp.script });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!fs.existsSync(gyp.marker), 'node-gyp ran');
    assert.match(r.stdout, /tensorrt-node: addon prebuilds\/[^/]+\/tensorrt-node\.node loads/);
    assert.equal(r.stderr, '');
  });

  it('--build-from-source compiles even when a prebuild loads', () => {
    const pkg = make();
    pkg.put(path.join(path.relative(pkg.root, pkg.prebuildDir), 'tensorrt-node.node'), { copyOf: BUILT_ADDON });
    const gyp = fakeNodeGyp(pkg, copyAddon);
    const r = pkg.run(INSTALL, { npm_config_node_gyp: gyp.script, npm_config_build_from_source: 'true' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.existsSync(gyp.marker), 'node-gyp did not run');
  });

  it('in a git checkout it compiles nothing and points at npm run build', () => {
    const pkg = make(true);
    const gyp = fakeNodeGyp(pkg, 'process.exit(1);');
    const r = pkg.run(INSTALL, { npm_config_node_gyp: gyp.script });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!fs.existsSync(gyp.marker));
    assert.match(r.stdout, /development checkout; build the addon with `npm run build`/);
  });

  describe('TENSORRT_ROOT: the TensorRT module through cmake-js', () => {
    /** A package folder whose node_modules has node-gyp-build and a fake cmake-js that records its arguments. */
    function withFakeCmakeJs(body: string): { pkg: FakePackage; args: string } {
      const pkg = fakePackage({ checkout: false, scripts: true, nodeModules: false });
      made.push(pkg);
      const modules = path.join(pkg.root, 'node_modules');
      fs.mkdirSync(modules);
      fs.symlinkSync(path.join(ROOT, 'node_modules', 'node-gyp-build'), path.join(modules, 'node-gyp-build'));
      const args = path.join(pkg.root, 'cmake-js-args');
      pkg.put('node_modules/cmake-js/package.json', { text: '{"name":"cmake-js","version":"8.0.0"}' });
      pkg.put('node_modules/cmake-js/bin/cmake-js', {
        text: `require('fs').appendFileSync(${JSON.stringify(args)}, JSON.stringify(process.argv.slice(2)) + '\\n');\n${body}\n`,
      });
      pkg.put(path.join(path.relative(pkg.root, pkg.prebuildDir), 'tensorrt-node.node'), { copyOf: BUILT_ADDON });
      return { pkg, args };
    }

    it('builds only the module when the loaded addon has CUDA (else the whole addon), and says it was built', () => {
      const { pkg, args } = withFakeCmakeJs(
        `const fs = require('fs'); fs.mkdirSync('build/Release', { recursive: true }); fs.writeFileSync('build/Release/tensorrt_node_trt.so', '');`,
      );
      const r = pkg.run(INSTALL, { TENSORRT_ROOT: '/opt/TensorRT-10.9' });
      assert.equal(r.status, 0, r.stderr);
      const cuda = /backends: [^)]*cuda/.test(r.stdout);
      // Configured explicitly (a kept configuration would keep an older TENSORRT_ROOT), then built.
      const calls = fs
        .readFileSync(args, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as string[]);
      assert.deepEqual(calls, [
        ['configure', '--CDTENSORRT_ROOT=/opt/TensorRT-10.9'],
        ['build', ...(cuda ? ['--target', 'tensorrt_node_trt'] : [])],
      ]);
      assert.match(r.stdout, /tensorrt-node: TensorRT module built: build\/Release\/tensorrt_node_trt\.so/);
    });

    it('a cmake-js that fails: the install still succeeds, saying why the module is missing', () => {
      const { pkg } = withFakeCmakeJs('process.exit(2);');
      const r = pkg.run(INSTALL, { npm_config_tensorrt_root: '/opt/none' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(
        r.stdout,
        /tensorrt-node: the TensorRT module was not built: cmake-js configure exited with code 2 \(the CMake output above says why\)\. The cuda and cpu backends are unaffected\./,
      );
    });
  });
});
