/**
 * Backend 'auto' per network: the addon's per-layer supports() (Backend::supports, ggml's
 * supports_op) and chooseForGraph, which passes over an available backend that lacks a layer of
 * the network, saying which layer and why.
 */
import { strict as assert } from 'assert';
import { Network } from '../../lib';
import { chooseForGraph, type BackendStatus, type UnsupportedLayer } from '../../lib/backends';
import { planExecGraph } from '../../lib/builder/exec_graph';
import { native } from '../../lib/native';

const NET = `
name: "two"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
`;

describe("backend 'auto' per network", () => {
  const all: BackendStatus[] = [
    { name: 'tensorrt', available: false, reason: 'the TensorRT module is not built' },
    { name: 'cuda', available: true, reason: '' },
    { name: 'cpu', available: true, reason: '' },
  ];

  it('takes the first available backend that runs every layer, naming what the others lack', () => {
    const lacking: UnsupportedLayer[] = [
      { layer: 'conv1', op: 'Convolution', reason: 'no tactic for dilation 7' },
      { layer: 'pool9', op: 'Pooling', reason: 'no such mode' },
    ];
    const r = chooseForGraph(all, (b) => (b === 'cuda' ? lacking : []));
    assert.equal(r.backend, 'cpu');
    assert.deepEqual(r.skipped, [
      { name: 'tensorrt', reason: 'the TensorRT module is not built' },
      { name: 'cuda', reason: "layer 'conv1' (Convolution): no tactic for dilation 7 (and 1 more layer(s))" },
    ]);
    assert.equal(chooseForGraph(all, () => []).backend, 'cuda', 'nothing lacking: the first available');
  });

  it('refuses with E_UNSUPPORTED_LAYER when no available backend runs the network', () => {
    const none = (): UnsupportedLayer[] => [{ layer: 'x', op: 'Embed', reason: 'not here' }];
    assert.throws(
      () => chooseForGraph(all, none),
      (e: Error & { code?: string }) =>
        e.code === 'E_UNSUPPORTED_LAYER' &&
        /no available backend runs every layer: .*cuda: layer 'x' \(Embed\): not here; cpu:/.test(e.message),
    );
  });

  it("the addon's supports() lists no layer for a network every compiled backend runs, and checks its arguments", async () => {
    const graph = JSON.stringify(planExecGraph(await Network.parse(NET), { precision: 'fp32', maxBatchSize: 2, optimize: true }));
    for (const b of native().buildInfo().backends) assert.deepEqual(native().supports(b, graph), [], b);
    assert.throws(() => native().supports('nope', graph), /backend 'nope' is not compiled into this addon/);
    assert.throws(
      () => native().supports('cpu', '{"not": "a graph"'),
      (e: Error & { code?: string }) => typeof e.code === 'string',
    );
    assert.throws(() => (native().supports as unknown as (a: number) => unknown)(1), TypeError);
  });
});
