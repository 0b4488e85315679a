#!/usr/bin/env python3
"""The PyTorch peer of tensorrt-node: the same Caffe network, run by PyTorch.

It reads the JSON that scripts/peers/export-ir.ts writes (our importer's IR: every layer in
execution order with its attributes and shapes) and, optionally, the weights file written with
it, builds a torch.nn.Module that executes the layers in order with Caffe's semantics, and

  bench     times it on a GPU the strongest fair way PyTorch offers (cuDNN autotuning,
            channels_last, CUDA graphs) for fp32 / tf32 / fp16 and a list of batch sizes,
            and prints one JSON object (or writes it with --out);
  check     runs it once on an input (.npy) and writes the outputs (.npy), so that a test can
            compare it with our cpu backend (scripts/peers/check-peer.ts);
  selftest  checks the pooling and LRN paths against a literal transcription of Caffe's loops.

Only torch and the standard library are needed (no numpy); it runs on PyTorch 1.13 and 2.x.
See scripts/peers/README.md.
"""
import argparse
import ast
import datetime
import gc
import hashlib
import json
import math
import os
import platform
import statistics
import struct
import subprocess
import sys
import time
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F

IR_FORMAT = 'tensorrt-node-peer-ir'
IR_VERSION = 1
FLT_MAX = 3.4028234663852886e38
FLT_MIN = 1.1754943508222875e-38


class PeerError(Exception):
    """A problem with the network, the files or the arguments: printed without a traceback."""


class UnsupportedLayer(PeerError):
    pass


# --------------------------------------------------------------------------------------------
# Files: the IR, the weights, .npy arrays (float32, C order), without numpy.

def load_ir(path):
    with open(path, 'r') as f:
        ir = json.load(f)
    if ir.get('format') != IR_FORMAT or ir.get('version') != IR_VERSION:
        raise PeerError('%s is not a %s v%d file (export it with dist/scripts/peers/export-ir.js)'
                        % (path, IR_FORMAT, IR_VERSION))
    return ir


def load_weights(ir, path, verify=True):
    """Blobs by (layer name, blob index) as float32 CPU tensors, from the file export-ir wrote."""
    meta = ir.get('weights')
    if meta is None:
        raise PeerError('the IR has no weights section: export it with --weights <file.bin>')
    with open(path, 'rb') as f:
        raw = f.read()
    if len(raw) != meta['bytes']:
        raise PeerError('%s has %d bytes; the IR says %d (another export?)' % (path, len(raw), meta['bytes']))
    if verify and hashlib.sha256(raw).hexdigest() != meta['sha256']:
        raise PeerError('%s does not match the IR (SHA-256 differs): export both again' % path)
    data = torch.frombuffer(bytearray(raw), dtype=torch.float32) if raw else torch.zeros(0)
    if sys.byteorder != 'little':
        raise PeerError('the weights file is little-endian float32; this machine is big-endian')
    blobs = {}
    for b in meta['blobs']:
        count = math.prod(b['shape']) if b['shape'] else 1
        start = b['offset'] // 4
        blobs[(b['layer'], b['index'])] = data[start:start + count].clone().reshape(b['shape'])
    return blobs


def random_weights(ir, seed):
    """Random blobs with the distributions of our 'he' weights (docs/weights.md), drawn by torch.

    Not the same values as our engine's (another generator): for timing, where only magnitudes
    matter (they keep activations in range through deep networks, as for our engine).
    """
    gen = torch.Generator().manual_seed(seed)

    def normal(shape, std):
        return torch.randn(shape, generator=gen) * std

    def uniform(shape, lo, hi):
        return torch.rand(shape, generator=gen) * (hi - lo) + lo

    blobs = {}
    for layer in ir['layers']:
        t = layer['type']
        for i, shape in enumerate(layer['blobs']):
            shape = list(shape)
            if t in ('Convolution', 'Deconvolution', 'InnerProduct') and i == 0:
                fan_in = math.prod(shape) / shape[0]
                v = normal(shape, math.sqrt(2.0 / fan_in))
            elif t == 'BatchNorm' and i == 1:
                v = uniform(shape, 0.5, 1.5)  # variance
            elif t == 'BatchNorm' and i == 2:
                v = torch.ones(shape)  # moving-average factor
            elif t == 'Scale' and i == 0 and not layer['attrs']['fromInput']:
                v = uniform(shape, 0.8, 1.2)
            elif t == 'PReLU':
                v = uniform(shape, 0.1, 0.3)
            elif t == 'Embed' and i == 0:
                v = normal(shape, 1.0)
            else:
                v = uniform(shape, -0.1, 0.1)
            blobs[(layer['name'], i)] = v
    return blobs


_NPY_DTYPES = {'<f4': (torch.float32, 4), '<f8': (torch.float64, 8), '<i4': (torch.int32, 4),
               '<i8': (torch.int64, 8), '|u1': (torch.uint8, 1), '|i1': (torch.int8, 1), '<i2': (torch.int16, 2)}


def read_npy(path):
    """A .npy file (format 1-3, little-endian, C order) as a float32 tensor; raw float32 needs
    the shape, so only .npy is accepted."""
    with open(path, 'rb') as f:
        raw = f.read()
    if raw[:6] != b'\x93NUMPY':
        raise PeerError('%s is not a .npy file' % path)
    major = raw[6]
    if major == 1:
        (hlen,), start = struct.unpack('<H', raw[8:10]), 10
    else:
        (hlen,), start = struct.unpack('<I', raw[8:12]), 12
    header = ast.literal_eval(raw[start:start + hlen].decode('latin1'))
    if header['fortran_order']:
        raise PeerError('%s: Fortran-order arrays are not supported' % path)
    if header['descr'] not in _NPY_DTYPES:
        raise PeerError('%s: dtype %s is not supported' % (path, header['descr']))
    dtype, width = _NPY_DTYPES[header['descr']]
    shape = list(header['shape'])
    body = raw[start + hlen:]
    count = math.prod(shape) if shape else 1
    if len(body) != count * width:
        raise PeerError('%s: %d data bytes for shape %s' % (path, len(body), shape))
    t = torch.frombuffer(bytearray(body), dtype=dtype) if count else torch.zeros(0, dtype=dtype)
    return t.reshape(shape).to(torch.float32)


def write_npy(path, tensor):
    t = tensor.detach().to('cpu', torch.float32).contiguous()
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % ''.join('%d, ' % d for d in t.shape)
    # Pad so that the data starts on a multiple of 64 bytes, ending the header with a newline.
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + ' ' * (pad % 64) + '\n'
    with open(path, 'wb') as f:
        f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(header)) + header.encode('latin1'))
        try:
            f.write(t.numpy().tobytes())
        except (ImportError, RuntimeError):  # torch without numpy
            import array
            f.write(array.array('f', t.reshape(-1).tolist()).tobytes())


# --------------------------------------------------------------------------------------------
# Caffe's shape rules the ops need at run time (any batch size).

def pool_geometry(attrs, height, width):
    """Caffe's pooled size per axis, and whether PyTorch's own pooling (padding and ceil_mode)
    gives exactly that size: otherwise the op pads explicitly (see PoolOp)."""
    kernel = [height, width] if attrs['global'] else list(attrs['kernel'])
    stride, pad = list(attrs['stride']), list(attrs['pad'])
    ceil = attrs['roundMode'] == 'CEIL'
    padded = pad[0] > 0 or pad[1] > 0
    out, native = [], True
    for size, k, s, p in zip((height, width), kernel, stride, pad):
        span = size + 2 * p - k
        o = (-(-span // s) if ceil else span // s) + 1
        if padded and (o - 1) * s >= size + p:
            o -= 1
        # PyTorch (pooling_output_shape): the same, but it drops a last window starting past
        # size + pad even without padding, and it takes pad <= kernel / 2 only.
        t = (span + (s - 1 if ceil else 0)) // s + 1
        if ceil and (t - 1) * s >= size + p:
            t -= 1
        native = native and t == o and 2 * p <= k
        out.append(o)
    return kernel, stride, pad, out, native


def caffe_reshape(shape, attrs):
    dims, start, num_axes = list(attrs['shape']), attrs['axis'], attrs['numAxes']
    end = len(shape) if num_axes == -1 else start + num_axes
    middle = [shape[start + i] if d == 0 else d for i, d in enumerate(dims)]
    out = list(shape[:start]) + middle + list(shape[end:])
    if -1 in out:
        i = out.index(-1)
        known = math.prod(d for j, d in enumerate(out) if j != i)
        out[i] = math.prod(shape) // known
    return out


# --------------------------------------------------------------------------------------------
# Ops: one nn.Module per executed layer; forward takes the input tensors and returns a list.

def as_param(t):
    return nn.Parameter(t.to(torch.float32).contiguous(), requires_grad=False)


class ConvOp(nn.Module):
    """Convolution / Deconvolution, 1-3 spatial axes, channel axis 1; every bottom through the
    same weights. `scale` / `shift` (per output channel, float64) are folded affine layers."""

    def __init__(self, layer, blobs, deconv):
        super().__init__()
        a = layer['attrs']
        if a['axis'] != 1:
            raise UnsupportedLayer("layer '%s' (%s): channel axis %d (only 1 is supported)" % (layer['name'], layer['type'], a['axis']))
        spatial = len(a['kernel'])
        if spatial not in (1, 2, 3):
            raise UnsupportedLayer("layer '%s' (%s): %d spatial axes (1 to 3 are supported)" % (layer['name'], layer['type'], spatial))
        self.deconv = deconv
        self.fn = [None, F.conv1d, F.conv2d, F.conv3d][spatial] if not deconv else \
            [None, F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][spatial]
        self.stride, self.pad, self.dilation = tuple(a['stride']), tuple(a['pad']), tuple(a['dilation'])
        self.groups = a['group']
        self.num_output = a['numOutput']
        self.weight = as_param(blobs[0])
        self.bias = as_param(blobs[1]) if a['biasTerm'] else None

    def fold(self, scale, shift):
        """W[c] *= scale[c], bias[c] = bias[c] * scale[c] + shift[c] (double precision)."""
        w = self.weight.data.double()
        if self.deconv:
            cin, cout_g = w.shape[0], w.shape[1]
            g = self.groups
            wv = w.reshape(g, cin // g, cout_g, -1) * scale.reshape(g, 1, cout_g, 1)
            w = wv.reshape(w.shape)
        else:
            w = w * scale.reshape([-1] + [1] * (w.dim() - 1))
        b = self.bias.data.double() if self.bias is not None else torch.zeros(self.num_output, dtype=torch.float64)
        self.weight = as_param(w)
        self.bias = as_param(b * scale + shift)

    def forward(self, *xs):
        if self.deconv:
            return [self.fn(x, self.weight, self.bias, self.stride, self.pad, 0, self.groups, self.dilation) for x in xs]
        return [self.fn(x, self.weight, self.bias, self.stride, self.pad, self.dilation, self.groups) for x in xs]


class InnerProductOp(nn.Module):
    def __init__(self, layer, blobs):
        super().__init__()
        a = layer['attrs']
        self.axis = a['axis']
        w = blobs[0]
        self.weight = as_param(w.t() if a['transpose'] else w)  # [N, K]
        self.bias = as_param(blobs[1]) if a['biasTerm'] else None
        self.num_output = a['numOutput']

    def fold(self, scale, shift):
        w = self.weight.data.double() * scale.reshape(-1, 1)
        b = self.bias.data.double() if self.bias is not None else torch.zeros(self.num_output, dtype=torch.float64)
        self.weight = as_param(w)
        self.bias = as_param(b * scale + shift)

    def forward(self, x):
        shape = x.shape
        x = x.reshape(list(shape[:self.axis]) + [-1])
        return [F.linear(x, self.weight, self.bias)]


class PoolOp(nn.Module):
    """Caffe's pooling. Where PyTorch's max_pool2d / avg_pool2d (count_include_pad=True, whose
    divisor is the window clipped to the padded input, as Caffe's) give Caffe's output size, they
    are used as they are; otherwise (pad > kernel / 2, or Caffe's unpadded ceil-mode window that
    starts past the input) the input is padded explicitly: -FLT_MAX for MAX, zeros for AVE with a
    precomputed divisor tensor holding Caffe's per-window pool size."""

    def __init__(self, layer):
        super().__init__()
        a = layer['attrs']
        self.method = a['method']
        self.mask = len(layer['outputs']) == 2
        _, _, height, width = layer['inputShapes'][0]
        kernel, stride, pad, out, native = pool_geometry(a, height, width)
        self.kernel, self.stride, self.pad, self.out = tuple(kernel), tuple(stride), tuple(pad), tuple(out)
        self.height, self.width = height, width
        self.native = native and self.method != 'STOCHASTIC'
        self.ceil = a['roundMode'] == 'CEIL'
        if not self.native:
            # Explicit padding: `pad` before, and after enough for the last window's full extent.
            self.extra = tuple(max(0, (o - 1) * s + k - size - p)
                               for o, s, k, size, p in zip(out, stride, kernel, (height, width), pad))
            if self.method == 'STOCHASTIC':
                self.pad = (0, 0)
            elif self.method == 'AVE':
                sizes = []
                for o, s, k, size, p in zip(out, stride, kernel, (height, width), pad):
                    starts = [i * s - p for i in range(o)]
                    sizes.append(torch.tensor([min(st + k, size + p) - st for st in starts], dtype=torch.float32))
                self.register_buffer('divisor', sizes[0].reshape(-1, 1) * sizes[1].reshape(1, -1))

    def forward(self, x):
        if self.native:
            if self.method == 'MAX':
                if self.mask:
                    y, idx = F.max_pool2d(x, self.kernel, self.stride, self.pad, 1, self.ceil, True)
                    return [y, idx.to(y.dtype)]
                return [F.max_pool2d(x, self.kernel, self.stride, self.pad, 1, self.ceil)]
            return [F.avg_pool2d(x, self.kernel, self.stride, self.pad, self.ceil, True)]
        (ph, pw), (eh, ew) = self.pad, self.extra
        oh, ow = self.out
        if self.method == 'MAX':
            xp = F.pad(x, (pw, ew, ph, eh), value=-FLT_MAX)
            if self.mask:
                y, idx = F.max_pool2d(xp, self.kernel, self.stride, 0, 1, False, True)
                y, idx = y[:, :, :oh, :ow], idx[:, :, :oh, :ow]
                wp = self.width + pw + ew
                h, w = idx // wp - ph, idx % wp - pw
                # An empty window (Caffe: mask -1) picks a padding cell.
                inside = (h >= 0) & (h < self.height) & (w >= 0) & (w < self.width)
                return [y, torch.where(inside, h * self.width + w, torch.full_like(idx, -1)).to(y.dtype)]
            return [F.max_pool2d(xp, self.kernel, self.stride, 0, 1, False)[:, :, :oh, :ow]]
        xp = F.pad(x, (pw, ew, ph, eh))
        if self.method == 'AVE':
            total = F.avg_pool2d(xp, self.kernel, self.stride, 0, False, True, 1)[:, :, :oh, :ow]
            return [total / self.divisor]
        # STOCHASTIC, test phase: sum(x^2) / (FLT_MIN + sum(x)) over the window.
        sq = F.avg_pool2d(xp * xp, self.kernel, self.stride, 0, False, True, 1)[:, :, :oh, :ow]
        s = F.avg_pool2d(xp, self.kernel, self.stride, 0, False, True, 1)[:, :, :oh, :ow]
        return [sq / (s + FLT_MIN)]


class LRNOp(nn.Module):
    """ACROSS_CHANNELS: PyTorch's local_response_norm is Caffe's (k + alpha / size * sum of
    squares over `size` channels, zero-padded)^-beta. WITHIN_CHANNEL: Caffe's composition,
    x * (1 + alpha * avgpool(x^2, size, pad (size-1)/2, padding counted))^-beta (k unused)."""

    def __init__(self, layer):
        super().__init__()
        a = layer['attrs']
        self.size, self.alpha, self.beta, self.k = a['localSize'], a['alpha'], a['beta'], a['k']
        self.across = a['region'] == 'ACROSS_CHANNELS'

    def forward(self, x):
        if self.across:
            return [F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)]
        pad = (self.size - 1) // 2
        avg = F.avg_pool2d(x * x, self.size, 1, pad, False, True)
        return [x * (avg * self.alpha + 1.0).pow(-self.beta)]


class ReLUOp(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.slope = layer['attrs']['negativeSlope']
        self.inplace = False  # set by the planner where the input dies here

    def forward(self, x):
        if self.slope == 0:
            return [F.relu(x, inplace=self.inplace)]
        return [F.leaky_relu(x, self.slope, inplace=self.inplace)]


class UnaryOp(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return [self.fn(x)]


def power_fn(a):
    p, scale, shift = a['power'], a['scale'], a['shift']
    if p == 0 or scale == 0:
        value = 1.0 if p == 0 else shift ** p
        return lambda x: torch.full_like(x, value)

    def fn(x):
        v = x * scale if scale != 1 else x
        v = v + shift if shift != 0 else v
        return v if p == 1 else v.pow(p)
    return fn


def exp_fn(a):
    lb = 1.0 if a['base'] == -1 else math.log(a['base'])
    inner, offset = a['scale'] * lb, a['shift'] * lb
    return lambda x: torch.exp(x * inner + offset)


def log_fn(a):
    base_scale = 1.0 if a['base'] == -1 else 1.0 / math.log(a['base'])
    return lambda x: torch.log(x * a['scale'] + a['shift']) * base_scale


class PReLUOp(nn.Module):
    def __init__(self, layer, blobs):
        super().__init__()
        self.weight = as_param(blobs[0].reshape(-1))

    def forward(self, x):
        return [F.prelu(x, self.weight)]


class SoftmaxOp(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.axis = layer['attrs']['axis']

    def forward(self, x):
        return [F.softmax(x, dim=self.axis)]


class ConcatOp(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.axis = layer['attrs']['axis']

    def forward(self, *xs):
        return [torch.cat(xs, dim=self.axis)]


class EltwiseOp(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.op = layer['attrs']['operation']
        self.coeff = list(layer['attrs']['coeff'])

    def forward(self, *xs):
        if self.op == 'PROD':
            y = xs[0]
            for x in xs[1:]:
                y = y * x
        elif self.op == 'MAX':
            y = xs[0]
            for x in xs[1:]:
                y = torch.maximum(y, x)
        else:
            y = xs[0] if self.coeff[0] == 1 else xs[0] * self.coeff[0]
            for c, x in zip(self.coeff[1:], xs[1:]):
                y = y + x if c == 1 else torch.add(y, x, alpha=c)
        return [y]


def channel_affine_of(layer, blobs):
    """(scale, shift) in float64 when the layer is a per-channel affine over axis 1 with learned
    operands (BatchNorm with global statistics, Scale, Bias), else None."""
    t, a = layer['type'], layer['attrs']
    shape = layer['inputShapes'][0]
    if t == 'BatchNorm':
        if not a['useGlobalStats'] or len(shape) < 2:
            return None
        factor = float(blobs[2].reshape(-1)[0])
        f = 0.0 if factor == 0 else 1.0 / factor
        mean, var = blobs[0].double() * f, blobs[1].double() * f
        scale = 1.0 / torch.sqrt(var + a['eps'])
        return scale, -mean * scale
    if t in ('Scale', 'Bias') and not a['fromInput'] and len(shape) >= 2 and a['axis'] == 1:
        operand = a['scaleShape'] if t == 'Scale' else a['biasShape']
        if list(operand) != [shape[1]]:
            return None
        if t == 'Scale':
            scale = blobs[0].double().reshape(-1)
            shift = blobs[1].double().reshape(-1) if a['biasTerm'] else torch.zeros_like(scale)
            return scale, shift
        shift = blobs[0].double().reshape(-1)
        return torch.ones_like(shift), shift
    return None


class ChannelAffineOp(nn.Module):
    """y = x * scale[c] + shift[c] over channel axis 1: a chain of BatchNorm (global statistics),
    Scale and Bias layers collapsed into one kernel, as a PyTorch model's eval-mode BatchNorm2d."""

    def __init__(self, scale, shift, rank):
        super().__init__()
        view = [1, -1] + [1] * (rank - 2)
        self.register_buffer('scale', scale.to(torch.float32).reshape(view))
        self.register_buffer('shift', shift.to(torch.float32).reshape(view))

    def then(self, scale, shift):
        s, b = self.scale.double().reshape(-1), self.shift.double().reshape(-1)
        self.scale = (s * scale).to(torch.float32).reshape(self.scale.shape)
        self.shift = (b * scale + shift).to(torch.float32).reshape(self.shift.shape)

    def values(self):
        return self.scale.double().reshape(-1), self.shift.double().reshape(-1)

    def forward(self, x):
        return [torch.addcmul(self.shift, x, self.scale)]


class BatchStatsBatchNormOp(nn.Module):
    """BatchNorm with use_global_stats false: the batch's own statistics (biased variance)."""

    def __init__(self, layer):
        super().__init__()
        self.eps = layer['attrs']['eps']

    def forward(self, x):
        return [F.batch_norm(x, None, None, training=True, eps=self.eps)]


class GeneralAffineOp(nn.Module):
    """Scale / Bias over dims [axis, axis + operand rank), operand a blob or the second input."""

    def __init__(self, layer, blobs):
        super().__init__()
        a = layer['attrs']
        self.is_scale = layer['type'] == 'Scale'
        self.axis, self.from_input = a['axis'], a['fromInput']
        operand = a['scaleShape'] if self.is_scale else a['biasShape']
        self.rank_after = len(layer['inputShapes'][0]) - self.axis - len(operand)
        i = 0
        if not self.from_input:
            self.register_buffer('operand', blobs[0].reshape(list(operand)).to(torch.float32))
            i = 1
        has_bias = self.is_scale and a['biasTerm']
        self.register_buffer('bias', blobs[i].reshape(list(operand)).to(torch.float32) if has_bias else None)

    def view(self, t):
        return t.reshape([1] * self.axis + list(t.shape) + [1] * self.rank_after)

    def forward(self, x, operand=None):
        op = operand if self.from_input else self.operand
        if not self.is_scale:
            return [x + self.view(op)]
        y = x * self.view(op)
        return [y + self.view(self.bias) if self.bias is not None else y]


class FlattenOp(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.axis, self.end = layer['attrs']['axis'], layer['attrs']['endAxis']

    def forward(self, x):
        return [torch.flatten(x, self.axis, self.end)]


class ReshapeOp(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.attrs = layer['attrs']

    def forward(self, x):
        return [x.reshape(caffe_reshape(list(x.shape), self.attrs))]


class SplitOp(nn.Module):
    def __init__(self, count):
        super().__init__()
        self.count = count

    def forward(self, x):
        return [x] * self.count


class SliceOp(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.axis = layer['attrs']['axis']
        self.sizes = [s[self.axis] for s in layer['outputShapes']]

    def forward(self, x):
        return list(torch.split(x, self.sizes, dim=self.axis))


class CropOp(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.axis, self.offsets = layer['attrs']['axis'], list(layer['attrs']['offsets'])

    def forward(self, x, ref):
        for d in range(self.axis, x.dim()):
            x = x.narrow(d, self.offsets[d - self.axis], ref.shape[d])
        return [x]


class ArgMaxOp(nn.Module):
    """Caffe's ArgMax: values sorted descending, equal values with the larger index first."""

    def __init__(self, layer):
        super().__init__()
        a = layer['attrs']
        self.top_k, self.out_max_val, self.axis = a['topK'], a['outMaxVal'], a.get('axis')
        self.out_rank = len(layer['outputShapes'][0])

    def forward(self, x):
        dim = 1 if self.axis is None else self.axis
        v = x.reshape(x.shape[0], -1) if self.axis is None else x
        n = v.shape[dim]
        # A stable descending sort of the reversed values puts the larger original index first.
        vals, idx = torch.sort(v.flip(dim), dim=dim, descending=True, stable=True)
        vals, idx = vals.narrow(dim, 0, self.top_k), (n - 1 - idx).narrow(dim, 0, self.top_k).to(x.dtype)
        if self.axis is not None:
            return [vals if self.out_max_val else idx]
        y = torch.stack([idx, vals], 1) if self.out_max_val else idx.unsqueeze(1)
        return [y.reshape([x.shape[0], y.shape[1], self.top_k] + [1] * (self.out_rank - 3))]


class MVNOp(nn.Module):
    def __init__(self, layer):
        super().__init__()
        a = layer['attrs']
        self.norm_var, self.across, self.eps = a['normalizeVariance'], a['acrossChannels'], a['eps']

    def forward(self, x):
        num = x.shape[0] if self.across else x.shape[0] * x.shape[1]
        v = x.reshape(num, -1)
        y = v - v.mean(1, keepdim=True)
        if self.norm_var:
            y = y / (torch.sqrt((y * y).mean(1, keepdim=True)) + self.eps)
        return [y.reshape(x.shape)]


class TileOp(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.axis, self.tiles = layer['attrs']['axis'], layer['attrs']['tiles']

    def forward(self, x):
        reps = [1] * x.dim()
        reps[self.axis] = self.tiles
        return [x.repeat(reps)]


class ReductionOp(nn.Module):
    def __init__(self, layer):
        super().__init__()
        a = layer['attrs']
        self.op, self.axis, self.coeff = a['operation'], a['axis'], a['coeff']

    def forward(self, x):
        v = x.reshape(list(x.shape[:self.axis]) + [-1])
        if self.op == 'ASUM':
            v = v.abs()
        elif self.op == 'SUMSQ':
            v = v * v
        r = v.mean(-1) if self.op == 'MEAN' else v.sum(-1)
        return [r * self.coeff]


class EmbedOp(nn.Module):
    def __init__(self, layer, blobs):
        super().__init__()
        self.weight = as_param(blobs[0])
        self.bias = as_param(blobs[1]) if layer['attrs']['biasTerm'] else None

    def forward(self, x):
        y = F.embedding(x.long(), self.weight)
        return [y + self.bias if self.bias is not None else y]


SUPPORTED = sorted([
    'Input', 'Convolution', 'Deconvolution', 'Pooling', 'LRN', 'ReLU', 'PReLU', 'ELU', 'Sigmoid', 'TanH',
    'AbsVal', 'Power', 'BNLL', 'Exp', 'Log', 'Threshold', 'Clip', 'Swish', 'InnerProduct', 'Softmax',
    'Dropout', 'Concat', 'Eltwise', 'BatchNorm', 'Scale', 'Bias', 'Flatten', 'Reshape', 'Split', 'Slice',
    'Crop', 'ArgMax', 'MVN', 'Tile', 'Reduction', 'Embed'])


def make_op(layer, blobs):
    t, a = layer['type'], layer['attrs']
    if t == 'Convolution':
        return ConvOp(layer, blobs, False)
    if t == 'Deconvolution':
        return ConvOp(layer, blobs, True)
    if t == 'InnerProduct':
        return InnerProductOp(layer, blobs)
    if t == 'Pooling':
        if len(layer['inputShapes'][0]) != 4:
            raise UnsupportedLayer("layer '%s' (Pooling): needs a 4-D input" % layer['name'])
        return PoolOp(layer)
    if t == 'LRN':
        return LRNOp(layer)
    if t == 'ReLU':
        return ReLUOp(layer)
    if t == 'PReLU':
        return PReLUOp(layer, blobs)
    unary = {
        'ELU': lambda: (lambda x, al=a.get('alpha'): F.elu(x, al)),
        'Sigmoid': lambda: torch.sigmoid,
        'TanH': lambda: torch.tanh,
        'AbsVal': lambda: torch.abs,
        'BNLL': lambda: F.softplus,
        'Power': lambda: power_fn(a),
        'Exp': lambda: exp_fn(a),
        'Log': lambda: log_fn(a),
        'Threshold': lambda: (lambda x, th=a.get('threshold'): (x > th).to(x.dtype)),
        'Clip': lambda: (lambda x, lo=a.get('min'), hi=a.get('max'): torch.clamp(x, lo, hi)),
        'Swish': lambda: (lambda x, b=a.get('beta'): x * torch.sigmoid(x * b)),
        'Dropout': lambda: (lambda x: x),
    }
    if t in unary:
        return UnaryOp(unary[t]())
    if t == 'Softmax':
        return SoftmaxOp(layer)
    if t == 'Concat':
        return ConcatOp(layer)
    if t == 'Eltwise':
        return EltwiseOp(layer)
    if t in ('BatchNorm', 'Scale', 'Bias'):
        affine = channel_affine_of(layer, blobs)
        if affine is not None:
            return ChannelAffineOp(affine[0], affine[1], len(layer['inputShapes'][0]))
        if t == 'BatchNorm':
            if a['useGlobalStats']:
                raise UnsupportedLayer("layer '%s' (BatchNorm): input %s has no channel axis" % (layer['name'], layer['inputShapes'][0]))
            return BatchStatsBatchNormOp(layer)
        return GeneralAffineOp(layer, blobs)
    if t == 'Flatten':
        return FlattenOp(layer)
    if t == 'Reshape':
        return ReshapeOp(layer)
    if t == 'Split':
        return SplitOp(len(layer['outputs']))
    if t == 'Slice':
        return SliceOp(layer)
    if t == 'Crop':
        return CropOp(layer)
    if t == 'ArgMax':
        return ArgMaxOp(layer)
    if t == 'MVN':
        return MVNOp(layer)
    if t == 'Tile':
        return TileOp(layer)
    if t == 'Reduction':
        return ReductionOp(layer)
    if t == 'Embed':
        return EmbedOp(layer, blobs)
    raise UnsupportedLayer("layer '%s': type %s is not supported by the PyTorch peer (supported: %s)"
                           % (layer['name'], t, ', '.join(SUPPORTED)))


# Ops whose outputs are new tensors (not views or aliases of an input): an in-place ReLU may
# overwrite them when nothing else reads them.
FRESH_OUTPUT = (ConvOp, InnerProductOp, PoolOp, LRNOp, ChannelAffineOp, EltwiseOp, ConcatOp, SoftmaxOp)


class PeerNet(nn.Module):
    """The network: ops in Caffe's execution order over a dictionary of named tensors. Each tensor
    is dropped after its last reader, so memory behaves as a hand-written nn.Module's."""

    def __init__(self, ir, blobs, fold=True):
        super().__init__()
        self.input_names = [t['name'] for t in ir['inputs']]
        self.output_names = [t['name'] for t in ir['outputs']]
        layers = [l for l in ir['layers'] if l['type'] != 'Input']
        readers = {}
        for l in layers:
            for t in l['inputs']:
                readers[t] = readers.get(t, 0) + 1
        outputs = set(self.output_names)

        def sole_reader(tensor):
            return readers.get(tensor, 0) == 1 and tensor not in outputs

        ops, plan = [], []
        producer = {}  # tensor name -> index in ops
        self.folded = []
        for l in layers:
            missing = [i for i in range(len(l['blobs'])) if (l['name'], i) not in blobs]
            if missing:
                raise PeerError("the weights have no blob %d of layer '%s'" % (missing[0], l['name']))
            layer_blobs = [blobs[(l['name'], i)] for i in range(len(l['blobs']))]
            affine = channel_affine_of(l, layer_blobs) if l['type'] in ('BatchNorm', 'Scale', 'Bias') else None
            src = l['inputs'][0] if l['inputs'] else None
            prev = producer.get(src)
            if affine is not None and prev is not None and sole_reader(src) and len(plan[prev][1]) == 1:
                target = ops[prev]
                # A GEMM whose output only this affine layer reads absorbs it (--fold); a
                # preceding affine op always does (one kernel, as eval-mode BatchNorm2d).
                gemm = isinstance(target, (ConvOp, InnerProductOp)) and fold and \
                    (isinstance(target, ConvOp) or target.axis == 1) and len(plan[prev][0]) == 1
                if gemm or isinstance(target, ChannelAffineOp):
                    if gemm:
                        target.fold(*affine)
                        self.folded.append(l['name'])
                    else:
                        target.then(*affine)
                    plan[prev] = (plan[prev][0], [l['outputs'][0]], plan[prev][2] + [l['name']])
                    producer[l['outputs'][0]] = prev
                    continue
            op = make_op(l, layer_blobs)
            ops.append(op)
            plan.append((list(l['inputs']), list(l['outputs']), [l['name']]))
            for t in l['outputs']:
                producer[t] = len(ops) - 1
        # In-place ReLU where its input is a fresh tensor that nothing else reads.
        for op, (ins, _, _) in zip(ops, plan):
            if isinstance(op, ReLUOp) and sole_reader(ins[0]) and ins[0] not in self.input_names:
                src = producer.get(ins[0])
                op.inplace = src is not None and isinstance(ops[src], FRESH_OUTPUT)
        # Drop every tensor after its last reader (outputs and inputs stay).
        last = {}
        for i, (ins, _, _) in enumerate(plan):
            for t in ins:
                last[t] = i
        keep = outputs | set(self.input_names)
        self.ops = nn.ModuleList(ops)
        self.plan = [(ins, outs, sorted({t for t in ins if last[t] == i and t not in keep}), names)
                     for i, (ins, outs, names) in enumerate(plan)]
        self.keep_tensors = set()

    def forward(self, *inputs):
        env = dict(zip(self.input_names, inputs))
        keep = self.keep_tensors
        for op, (ins, outs, free, _) in zip(self.ops, self.plan):
            ys = op(*[env[t] for t in ins])
            for t, y in zip(outs, ys):
                env[t] = y
            for t in free:
                if t not in keep:
                    del env[t]
        if keep:
            self.kept = {t: env[t] for t in keep if t in env}
        return tuple(env[t] for t in self.output_names)


def build_net(ir, blobs, fold):
    return PeerNet(ir, blobs, fold).eval()


# --------------------------------------------------------------------------------------------
# check: one forward pass on given inputs, outputs to .npy.

def cmd_check(args):
    ir = load_ir(args.ir)
    blobs = load_weights(ir, args.weights, verify=not args.no_verify)
    net = build_net(ir, blobs, args.fold)
    device = torch.device(args.device)
    if device.type == 'cuda':
        set_precision_flags('fp32')  # PyTorch lets cuDNN use TF32 by default
    net = net.to(device)
    by_name = {}
    for spec in args.input:
        name, eq, file = spec.partition('=')
        if not eq:
            if len(ir['inputs']) != 1:
                raise PeerError('the network has inputs %s: give --input name=file.npy for each'
                                % ', '.join(t['name'] for t in ir['inputs']))
            name, file = ir['inputs'][0]['name'], spec
        by_name[name] = file
    inputs = []
    for t in ir['inputs']:
        if t['name'] not in by_name:
            raise PeerError("no --input for '%s'" % t['name'])
        x = read_npy(by_name[t['name']])
        if list(x.shape[1:]) != list(t['shape'][1:]):
            raise PeerError("%s has shape %s; input '%s' takes [N, %s]"
                            % (by_name[t['name']], list(x.shape), t['name'], ', '.join(map(str, t['shape'][1:]))))
        inputs.append(x.to(device))
    dump = [t for t in (args.dump or '').split(',') if t]
    net.keep_tensors = set(dump)
    if dump:
        # A dumped tensor must keep its value: no ReLU overwrites its input.
        for op in net.ops:
            if isinstance(op, ReLUOp):
                op.inplace = False
    with torch.inference_mode():
        outs = net(*inputs)
    results = list(zip(net.output_names, outs)) + [(t, net.kept[t]) for t in dump if t in net.kept]
    missing = [t for t in dump if t not in net.kept]
    if missing:
        raise PeerError('no tensor named %s (IR names; folded layers have no output of their own)' % ', '.join(missing))
    folder = len(results) > 1 or args.output.endswith('/') or os.path.isdir(args.output)
    if folder:
        os.makedirs(args.output, exist_ok=True)
    for name, y in results:
        path = os.path.join(args.output, name.replace('/', '_') + '.npy') if folder else args.output
        write_npy(path, y)
        print('%s %s -> %s' % (name, list(y.shape), path))
    if net.folded:
        print('folded into GEMMs: %s' % ', '.join(net.folded), file=sys.stderr)


# --------------------------------------------------------------------------------------------
# bench: CUDA graphs over cuDNN-autotuned, channels_last kernels.

def set_precision_flags(precision):
    """TF32 off for fp32, on for tf32 and fp16 (fp16 runs every layer in half anyway)."""
    tf32 = precision != 'fp32'
    if hasattr(torch.backends.cudnn, 'conv') and hasattr(torch.backends.cuda.matmul, 'fp32_precision'):
        # PyTorch >= 2.9: the new per-backend settings (the allow_tf32 flags are deprecated there).
        mode = 'tf32' if tf32 else 'ieee'
        try:
            torch.backends.cuda.matmul.fp32_precision = mode
            torch.backends.cudnn.conv.fp32_precision = mode
            return {'cuda.matmul.fp32_precision': torch.backends.cuda.matmul.fp32_precision,
                    'cudnn.conv.fp32_precision': torch.backends.cudnn.conv.fp32_precision}
        except (AttributeError, RuntimeError, ValueError):
            pass
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    return {'cuda.matmul.allow_tf32': torch.backends.cuda.matmul.allow_tf32,
            'cudnn.allow_tf32': torch.backends.cudnn.allow_tf32}


def nvidia_smi(index):
    try:
        out = subprocess.run(['nvidia-smi', '--query-gpu=name,driver_version,clocks.max.sm,power.limit,memory.total,pci.bus_id',
                              '--format=csv,noheader', '-i', str(index)], capture_output=True, text=True, timeout=20)
        if out.returncode != 0:
            return {'error': out.stderr.strip()[:200]}
        fields = [f.strip() for f in out.stdout.strip().split('\n')[0].split(',')]
        keys = ['name', 'driver', 'maxSmClock', 'powerLimit', 'memory', 'pciBusId']
        return dict(zip(keys, fields))
    except (OSError, subprocess.SubprocessError) as e:
        return {'error': str(e)[:200]}


def environment(device):
    env = {
        'python': platform.python_version(),
        'torch': torch.__version__,
        'cuda': torch.version.cuda,
        'cudnn': torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        'host': platform.node(),
    }
    if device.type == 'cuda':
        p = torch.cuda.get_device_properties(device)
        env['gpu'] = {'name': p.name, 'computeCapability': '%d.%d' % (p.major, p.minor),
                      'multiprocessors': p.multi_processor_count, 'memoryBytes': p.total_memory}
        env['nvidiaSmi'] = nvidia_smi(device.index if device.index is not None else torch.cuda.current_device())
        env['driver'] = env['nvidiaSmi'].get('driver')
    return env


class GraphWontFit(Exception):
    """The eager forward ran but a CUDA graph of it would not fit next to it: reported as OOM."""


def is_oom(e):
    if isinstance(e, GraphWontFit):
        return True
    oom_type = getattr(torch.cuda, 'OutOfMemoryError', None)
    if oom_type is not None and isinstance(e, oom_type):
        return True
    text = str(e)
    return 'out of memory' in text or 'CUDNN_STATUS_ALLOC_FAILED' in text or 'CUBLAS_STATUS_ALLOC_FAILED' in text


def make_inputs(ir, batch, dtype, device, channels_last, seed):
    gen = torch.Generator(device=device).manual_seed(seed + batch)
    xs = []
    for t in ir['inputs']:
        x = (torch.rand([batch] + list(t['shape'][1:]), generator=gen, device=device) * 2 - 1).to(dtype)
        if channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        xs.append(x)
    return xs


def time_loop(step, windows, window_ms, warmup_ms):
    """Median ms per step over `windows` windows of back-to-back steps, each about `window_ms`
    long, after `warmup_ms` of steps; timed with CUDA events."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def run(n):
        start.record()
        for _ in range(n):
            step()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)

    once = run(1)
    n = int(warmup_ms / max(once, 1e-3))
    if n > 0:
        run(n)
    k = max(1, n // 4)
    est = run(k) / k
    # Slow steps (large batches) get one step per window rather than windows of many seconds.
    reps = max(1, int(math.ceil(window_ms / max(est, 1e-3))))
    times = [run(reps) / reps for _ in range(windows)]
    return {'ms': statistics.median(times), 'minMs': min(times), 'maxMs': max(times),
            'windowsMs': [round(t, 6) for t in times], 'stepsPerWindow': reps}


def bench_one(model, ir, batch, precision, args, device, reference):
    dtype = torch.float16 if precision == 'fp16' else torch.float32
    channels_last = args.memory_format == 'channels_last'
    xs = make_inputs(ir, batch, dtype, device, channels_last, args.seed)
    row = {'batch': batch}
    base_bytes = torch.cuda.memory_allocated(device)
    with torch.inference_mode():
        # The first forward autotunes every convolution for this shape (cudnn.benchmark), trying
        # algorithms with large workspaces; the memory that matters is that of the forwards after it.
        outs = model(*xs)
        torch.cuda.synchronize(device)
        del outs
        torch.cuda.reset_peak_memory_stats(device)
        for _ in range(2):
            outs = model(*xs)
        torch.cuda.synchronize(device)
        need = torch.cuda.max_memory_allocated(device) - base_bytes
        row['weightsAndInputsBytes'] = base_bytes
        row['forwardPeakBytes'] = need
        first = outs[0].float()
        row['outputFinite'] = bool(torch.isfinite(first).all())
        if reference is not None and batch in reference and precision != 'fp32':
            ref = reference[batch]
            row['relErrorVsFp32'] = float((first - ref).norm() / ref.norm().clamp_min(1e-30))
        if precision == 'fp32' and reference is not None:
            reference[batch] = first
        del outs, first
        if args.eager:
            row['eager'] = time_loop(lambda: model(*xs), args.windows, args.window_ms, args.warmup_ms)
        if not args.no_graphs:
            # A capture that runs out of memory can leave the context unusable: capture only when
            # the eager peak (which the graph's private pool needs again) fits in what is free.
            torch.cuda.empty_cache()
            free = torch.cuda.mem_get_info(device)[0]
            if free < need * 1.05 + (64 << 20):
                raise GraphWontFit('the eager forward peaked at %d bytes above the weights and inputs; %d are free'
                                   % (need, free))
            stream = torch.cuda.Stream(device)
            stream.wait_stream(torch.cuda.current_stream(device))
            with torch.cuda.stream(stream):
                for _ in range(3):
                    model(*xs)
            torch.cuda.current_stream(device).wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = model(*xs)
            row['graph'] = time_loop(graph.replay, args.windows, args.window_ms, args.warmup_ms)
            del graph, static_out
    timing = row['graph'] if 'graph' in row else row['eager']
    row['ms'] = timing['ms']
    row['imagesPerSecond'] = batch / (timing['ms'] / 1000.0)
    if 'eager' in row:
        row['eagerImagesPerSecond'] = batch / (row['eager']['ms'] / 1000.0)
    return row


def cmd_bench(args):
    if not torch.cuda.is_available():
        raise PeerError('bench needs a CUDA GPU (torch.cuda.is_available() is False); use check on a CPU')
    if args.no_graphs and not args.eager:
        args.eager = True
    device = torch.device(args.device)
    torch.cuda.set_device(device)
    ir = load_ir(args.ir)
    if args.weights:
        blobs, source = load_weights(ir, args.weights, verify=not args.no_verify), 'file %s' % os.path.basename(args.weights)
    else:
        blobs, source = random_weights(ir, args.seed), "random (torch, seed %d, the 'he' distributions of docs/weights.md)" % args.seed
    base = build_net(ir, blobs, args.fold)
    del blobs
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.enabled = True
    try:
        batches = [int(b) for b in args.batch.split(',') if b]
    except ValueError:
        raise PeerError("--batch takes comma-separated integers, got '%s'" % args.batch)
    if not batches or min(batches) < 1:
        raise PeerError("--batch takes positive integers, got '%s'" % args.batch)
    precisions = [p for p in args.precision.split(',') if p]
    for p in precisions:
        if p not in ('fp32', 'tf32', 'fp16'):
            raise PeerError("--precision takes fp32, tf32 and fp16, got '%s'" % p)
    result = {
        'what': 'PyTorch peer (scripts/peers/torch_peer.py bench)',
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'commit': os.environ.get('TRTN_COMMIT'),
        'network': {'name': ir['name'], 'file': ir['file'], 'inputs': [[t['name'], t['shape'][1:]] for t in ir['inputs']],
                    'macsPerImage': ir['totals']['macs'] / ir['batchSize'], 'params': ir['totals']['params']},
        'environment': environment(device),
        'settings': {
            'memoryFormat': args.memory_format,
            'cudnnBenchmark': True,
            'cudnnBenchmarkLimit': getattr(torch.backends.cudnn, 'benchmark_limit', None),
            'cudaGraphs': not args.no_graphs,
            'eager': bool(args.eager),
            'inferenceMode': True,
            'foldedIntoGemms': len(base.folded),
            'fold': bool(args.fold),
            'weights': source,
            'inputs': 'uniform [-1, 1), seeded per batch size',
            'timing': 'CUDA events around back-to-back %s; median of %d windows of ~%g ms after %g ms of warm-up'
                      % ('graph replays' if not args.no_graphs else 'eager forwards', args.windows, args.window_ms, args.warmup_ms),
            'fp16': 'model.half() and half inputs (every layer in float16)',
        },
        'precisions': {},
    }
    reference = {} if 'fp32' in precisions else None
    broken = None
    for precision in precisions:
        flags = set_precision_flags(precision)
        model = _copy_for(base, precision, args.memory_format, device)
        rows = []
        for batch in batches:
            t0 = time.time()
            if broken is not None:
                rows.append({'batch': batch, 'oom': False, 'error': 'not run: ' + broken})
                continue
            try:
                row = bench_one(model, ir, batch, precision, args, device, reference)
            except Exception as e:  # noqa: BLE001 (OOM and anything else is reported, then the sweep goes on)
                row = {'batch': batch, 'oom': is_oom(e)}
                row['error' if not row['oom'] else 'detail'] = '%s: %s' % (type(e).__name__, str(e)[:300])
                if not row['oom']:
                    traceback.print_exc(file=sys.stderr)
            gc.collect()
            try:
                torch.cuda.synchronize(device)
                torch.cuda.empty_cache()
            except Exception as e:  # noqa: BLE001 (a failed capture can leave the context unusable)
                broken = 'the CUDA context failed after batch %d (%s)' % (batch, str(e)[:200])
            row['seconds'] = round(time.time() - t0, 2)
            rows.append(row)
            brief = ('out of memory' if row.get('oom') else row.get('error') or
                     '%.4f ms, %.0f img/s' % (row['ms'], row['imagesPerSecond']))
            print('%s %s batch %d: %s' % (ir['name'], precision, batch, brief), file=sys.stderr, flush=True)
        result['precisions'][precision] = {'flags': flags, 'rows': rows}
        del model
        gc.collect()
        torch.cuda.empty_cache()
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')
    else:
        print(text)


def _copy_for(base, precision, memory_format, device):
    import copy
    model = copy.deepcopy(base)
    if precision == 'fp16':
        model = model.half()
    model = model.to(device)
    if memory_format == 'channels_last':
        model = model.to(memory_format=torch.channels_last)
    return model.eval()


def cmd_summary(args):
    """A markdown table of bench results: one row per network, precision and batch size."""
    print('| network | GPU | precision | batch | ms / batch | images/s | eager images/s |')
    print('|---|---|---|---:|---:|---:|---:|')
    for path in args.files:
        with open(path) as f:
            r = json.load(f)
        gpu = r['environment'].get('gpu', {}).get('name', '?')
        for precision, block in r['precisions'].items():
            for row in block['rows']:
                if row.get('oom'):
                    cells = ['out of memory', '', '']
                elif 'error' in row:
                    cells = ['error', '', '']
                else:
                    eager = row.get('eagerImagesPerSecond')
                    cells = ['%.4f' % row['ms'], '{:,.0f}'.format(row['imagesPerSecond']),
                             '{:,.0f}'.format(eager) if eager else '']
                print('| %s | %s | %s | %d | %s |' % (r['network']['name'], gpu, precision, row['batch'], ' | '.join(cells)))


# --------------------------------------------------------------------------------------------
# selftest: pooling and LRN against Caffe's loops (float64, CPU).

def caffe_pool_reference(x, attrs, out_shape):
    """A transcription of Caffe's PoolingLayer::Forward_cpu (MAX with mask, AVE, STOCHASTIC test)."""
    n, c, h, w = x.shape
    _, _, ph, pw = out_shape
    k = [h, w] if attrs['global'] else attrs['kernel']
    s, p = attrs['stride'], attrs['pad']
    y = torch.zeros(n, c, ph, pw, dtype=torch.float64)
    mask = torch.full((n, c, ph, pw), -1.0, dtype=torch.float64)
    for i in range(ph):
        for j in range(pw):
            hs, ws = i * s[0] - p[0], j * s[1] - p[1]
            if attrs['method'] == 'MAX':
                he, we = min(hs + k[0], h), min(ws + k[1], w)
                hs, ws = max(hs, 0), max(ws, 0)
                best = torch.full((n, c), -FLT_MAX, dtype=torch.float64)
                arg = torch.full((n, c), -1.0, dtype=torch.float64)
                for a in range(hs, he):
                    for b in range(ws, we):
                        v = x[:, :, a, b]
                        better = v > best
                        best = torch.where(better, v, best)
                        arg = torch.where(better, torch.full_like(arg, a * w + b), arg)
                y[:, :, i, j], mask[:, :, i, j] = best, arg
            elif attrs['method'] == 'AVE':
                he, we = min(hs + k[0], h + p[0]), min(ws + k[1], w + p[1])
                size = (he - hs) * (we - ws)
                hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
                y[:, :, i, j] = x[:, :, hs:he, ws:we].sum((2, 3)) / size if he > hs and we > ws else 0
            else:
                hs, ws = i * s[0], j * s[1]
                blk = x[:, :, hs:min(hs + k[0], h), ws:min(ws + k[1], w)]
                y[:, :, i, j] = (blk * blk).sum((2, 3)) / (blk.sum((2, 3)) + FLT_MIN)
    return y, mask


def cmd_selftest(args):
    """Every pooling configuration of a small grid (and LRN) through the peer's ops, in both memory
    formats, against the float64 transcription of Caffe's loops: float64 on the CPU, float32 on a
    GPU (whose kernels are other code: run it there too)."""
    device = torch.device(args.device)
    dtype = torch.float64 if device.type == 'cpu' else torch.float32
    tol = 1e-12 if dtype == torch.float64 else 2e-6
    gen = torch.Generator().manual_seed(5)
    cases = []
    for method in ('MAX', 'AVE'):
        for (h, w) in ((7, 7), (8, 6), (13, 13), (5, 9)):
            for k in (1, 2, 3, 5):
                for s in (1, 2, 3):
                    for p in range(0, k):
                        for mode in ('CEIL', 'FLOOR'):
                            cases.append(dict(method=method, kernel=[k, k], stride=[s, s], pad=[p, p],
                                              global_=False, roundMode=mode, hw=(h, w)))
    cases.append(dict(method='AVE', kernel=[3, 2], stride=[2, 1], pad=[1, 0], global_=False, roundMode='CEIL', hw=(7, 6)))
    cases.append(dict(method='MAX', kernel=[3, 3], stride=[2, 2], pad=[2, 0], global_=False, roundMode='CEIL', hw=(9, 8)))
    cases.append(dict(method='AVE', kernel=[7, 7], stride=[1, 1], pad=[0, 0], global_=True, roundMode='CEIL', hw=(7, 7)))
    cases.append(dict(method='STOCHASTIC', kernel=[3, 3], stride=[2, 2], pad=[0, 0], global_=False, roundMode='CEIL', hw=(8, 8)))
    checked = native = 0
    worst = 0.0
    formats = (torch.contiguous_format, torch.channels_last)
    for cfg in cases:
        h, w = cfg['hw']
        attrs = {'method': cfg['method'], 'kernel': cfg['kernel'], 'stride': cfg['stride'], 'pad': cfg['pad'],
                 'global': cfg['global_'], 'roundMode': cfg['roundMode']}
        kernel, stride, pad, out, is_native = pool_geometry(attrs, h, w)
        if min(out) < 1 or kernel[0] > h + 2 * pad[0] or kernel[1] > w + 2 * pad[1]:
            continue
        x = torch.rand(2, 3, h, w, generator=gen, dtype=torch.float64)
        if cfg['method'] != 'STOCHASTIC':
            x = x * 2 - 1
        x = x.to(dtype).to(torch.float64)  # values the device type holds exactly
        two_tops = cfg['method'] == 'MAX'
        layer = {'name': 'pool', 'attrs': attrs, 'inputShapes': [[2, 3, h, w]],
                 'outputs': ['y', 'mask'] if two_tops else ['y'], 'outputShapes': [[2, 3] + out] * (2 if two_tops else 1)}
        op = PoolOp(layer).to(device=device, dtype=dtype)
        want, mask = caffe_pool_reference(x, attrs, [2, 3] + out)
        for fmt in formats:
            got = op(x.to(device=device, dtype=dtype).contiguous(memory_format=fmt))
            err = float((got[0].double().cpu() - want).abs().max() / max(1.0, float(want.abs().max())))
            same_mask = not two_tops or torch.equal(got[1].double().cpu(), mask)
            if err > tol or not same_mask:
                raise PeerError('pooling %s (input %dx%d, %s, native %s): relative error %g, mask equal %s'
                                % (attrs, h, w, fmt, op.native, err, same_mask))
            worst = max(worst, err)
            checked += 1
            native += op.native
    for region in ('ACROSS_CHANNELS', 'WITHIN_CHANNEL'):
        for size in (1, 3, 5):
            attrs = {'localSize': size, 'alpha': 1e-1, 'beta': 0.75, 'k': 2.0 if region == 'ACROSS_CHANNELS' else 1.0, 'region': region}
            x = (torch.rand(2, 7, 6, 5, generator=gen, dtype=torch.float64) * 4 - 2).to(dtype).to(torch.float64)
            half = (size - 1) // 2
            want = torch.empty_like(x)
            for c in range(7):
                if region == 'ACROSS_CHANNELS':
                    lo, hi = max(0, c - half), min(6, c + half)
                    sq = (x[:, lo:hi + 1] ** 2).sum(1)
                    want[:, c] = x[:, c] * (attrs['k'] + attrs['alpha'] / size * sq) ** -attrs['beta']
                else:
                    sq = x[:, c:c + 1] ** 2
                    avg = caffe_pool_reference(sq, {'method': 'AVE', 'kernel': [size, size], 'stride': [1, 1],
                                                    'pad': [half, half], 'global': False}, [2, 1, 6, 5])[0]
                    want[:, c] = x[:, c] * (1 + attrs['alpha'] * avg[:, 0]) ** -attrs['beta']
            for fmt in formats:
                got = LRNOp({'attrs': attrs})(x.to(device=device, dtype=dtype).contiguous(memory_format=fmt))[0]
                err = float((got.double().cpu() - want).abs().max() / max(1.0, float(want.abs().max())))
                if err > tol:
                    raise PeerError('LRN %s size %d (%s): relative error %g' % (region, size, fmt, err))
                worst = max(worst, err)
                checked += 1
    print('selftest on %s (%s, contiguous and channels_last): %d pooling / LRN cases match Caffe (%d pooling '
          "cases on PyTorch's own pooling, the rest padded explicitly); max relative error %.3g"
          % (device, str(dtype).replace('torch.', ''), checked, native, worst))


# --------------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)

    b = sub.add_parser('bench', help='time the network on a CUDA GPU')
    b.add_argument('ir', help='network JSON from export-ir.js')
    b.add_argument('--weights', help='weights file from export-ir.js --weights (default: random weights)')
    b.add_argument('--batch', default='1,8,32,128', help='comma-separated batch sizes (default 1,8,32,128)')
    b.add_argument('--precision', default='fp32,tf32,fp16', help='comma-separated: fp32, tf32, fp16 (default all)')
    b.add_argument('--memory-format', default='channels_last', choices=['channels_last', 'contiguous'])
    b.add_argument('--fold', dest='fold', action='store_true', default=True,
                   help='fold BatchNorm / Scale / Bias into the preceding convolution (default)')
    b.add_argument('--no-fold', dest='fold', action='store_false')
    b.add_argument('--eager', action='store_true', help='also time eager forwards (no CUDA graph)')
    b.add_argument('--no-graphs', action='store_true', help='time eager forwards only')
    b.add_argument('--windows', type=int, default=7, help='timing windows; the median is reported (default 7)')
    b.add_argument('--window-ms', type=float, default=100.0, help='GPU time per window (default 100)')
    b.add_argument('--warmup-ms', type=float, default=200.0, help='warm-up GPU time before timing (default 200)')
    b.add_argument('--seed', type=int, default=1)
    b.add_argument('--device', default='cuda:0')
    b.add_argument('--no-verify', action='store_true', help='skip the SHA-256 check of the weights file')
    b.add_argument('--out', help='write the JSON here instead of stdout')

    c = sub.add_parser('check', help='run once on .npy inputs and write the outputs as .npy')
    c.add_argument('ir', help='network JSON from export-ir.js')
    c.add_argument('--weights', required=True, help='weights file from export-ir.js --weights')
    c.add_argument('--input', action='append', required=True, help='[name=]x.npy (float32, batch first)')
    c.add_argument('--output', required=True, help='y.npy, or a folder for <name>.npy files')
    c.add_argument('--dump', help='comma-separated IR tensor names to write as well')
    c.add_argument('--fold', dest='fold', action='store_true', default=False,
                   help='fold BatchNorm / Scale / Bias into convolutions, as bench does')
    c.add_argument('--device', default='cpu')
    c.add_argument('--no-verify', action='store_true')

    m = sub.add_parser('summary', help='print bench JSON files as a markdown table')
    m.add_argument('files', nargs='+')

    t = sub.add_parser('selftest', help="check pooling and LRN against Caffe's loops")
    t.add_argument('--device', default='cpu', help='cpu (float64) or cuda (float32)')

    args = parser.parse_args(argv)
    try:
        {'bench': cmd_bench, 'check': cmd_check, 'selftest': cmd_selftest, 'summary': cmd_summary}[args.command](args)
    except PeerError as e:
        print('torch_peer: %s' % e, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
