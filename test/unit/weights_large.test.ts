/**
 * Weights over 4 GiB for real: a .caffemodel blob of 4.4 GB (a sparse file) and a random
 * InnerProduct of 4.4 GB generated on the weights worker. Each needs about 4.5 GB of host memory
 * and a few seconds, so they run only with TRTN_LARGE_TESTS=1; test/unit/weights_memory.test.ts
 * covers the same paths without the memory.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readCaffemodel } from '../../lib/caffe';
import { WireType, WireWriter } from '../../lib/caffe/wire_format';
import { Network } from '../../lib/network';

/** 1.1e9 float32 values: 4.4 GB, past 2^32 bytes. */
const VALUES = 1.1e9;

/** A length-delimited field `field` holding `body` (with `extra` payload bytes counted but not written). */
function lenField(w: WireWriter, field: number, body: Uint8Array, extra = 0): void {
  w.tag(field, WireType.Len);
  w.uvarint(body.length + extra);
  w.bytes(body);
}

/**
 * Writes a .caffemodel with one InnerProduct layer 'fc' whose blob 0 has shape [1, VALUES]: the
 * payload is a hole (zeros) but for its last value, `last`. Returns the file's path.
 */
function sparseCaffemodel(file: string, last: number): void {
  const dims = new WireWriter();
  dims.uvarint(1);
  dims.uvarint(VALUES);
  const shape = new WireWriter();
  lenField(shape, 1, dims.finish().slice());
  const blobHead = new WireWriter();
  lenField(blobHead, 7, shape.finish().slice()); // BlobProto.shape
  blobHead.tag(5, WireType.Len); // BlobProto.data, packed floats
  blobHead.uvarint(VALUES * 4);
  const blobHeadBytes = blobHead.finish().slice();
  const layerHead = new WireWriter();
  lenField(layerHead, 1, Buffer.from('fc')); // LayerParameter.name
  lenField(layerHead, 2, Buffer.from('InnerProduct')); // LayerParameter.type
  lenField(layerHead, 7, blobHeadBytes, VALUES * 4); // LayerParameter.blobs
  const layerHeadBytes = layerHead.finish().slice();
  const net = new WireWriter();
  lenField(net, 100, layerHeadBytes, VALUES * 4); // NetParameter.layer
  const head = net.finish().slice();
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, head);
    const tail = Buffer.alloc(4);
    tail.writeFloatLE(last);
    fs.writeSync(fd, tail, 0, 4, head.length + VALUES * 4 - 4);
  } finally {
    fs.closeSync(fd);
  }
}

describe('weights over 4 GiB (TRTN_LARGE_TESTS=1; about 4.5 GB of host memory each)', function () {
  this.timeout(300000);
  let dir: string;
  before(function () {
    if (process.env.TRTN_LARGE_TESTS !== '1') return this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtnode-large-'));
  });
  after(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("readCaffemodel reads a 4.4 GB float payload whole (past Buffer's 4 GiB and one view's 2^32 elements)", async () => {
    const file = path.join(dir, 'big.caffemodel');
    sparseCaffemodel(file, 0.75);
    const model = await readCaffemodel(file);
    const data = model.layers[0].blobs[0].data;
    assert.deepEqual(model.layers[0].blobs[0].shape, [1, VALUES]);
    assert.equal(data.length, VALUES);
    assert.equal(data[VALUES - 1], 0.75);
    assert.equal(data[VALUES - 2], 0);
  });

  it('random weights of a 4.4 GB InnerProduct come back from the weights worker whole', async () => {
    const net = await Network.parse(
      [
        'name: "big"',
        'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 100000 } } }',
        'layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 11000',
        '  weight_filler { type: "constant" value: 0.5 } bias_filler { type: "constant" value: 0.25 } } }',
      ].join('\n'),
      { weightInit: 'filler' },
    );
    const [w, b] = await net.loadWeights(['fc/0', 'fc/1']);
    assert.equal(w.length, VALUES);
    assert.equal(w[VALUES - 1], 0.5);
    assert.equal(b.length, 11000);
    assert.equal(b[10999], 0.25);
  });
});
