#!/usr/bin/env python3
"""Trains Caffe's MNIST LeNet (models/lenet.prototxt) in PyTorch and writes its weights as .npy.

Reads the .npy files of scripts/mnist-data.js (pixels already x/256 like Caffe's
lenet_train_test), trains with Caffe's lenet_solver (SGD, lr 0.01, momentum 0.9, weight decay
5e-4, "inv" policy gamma 1e-4 power 0.75, batch 64; weights lr_mult 1, biases lr_mult 2; Xavier
weights and zero biases as the prototxt's fillers), measures the held-back test split after each
epoch, and writes to the output folder:

  conv1.w [20,1,5,5]  conv1.b [20]  conv2.w [50,20,5,5]  conv2.b [50]
  ip1.w [500,800] (inputs in Caffe's C,H,W flatten order)  ip1.b [500]  ip2.w [10,500]  ip2.b [10]
  test-pred.npy (float32 [M]: PyTorch's top-1 class of every test sample)
  train.json (the same JSON line printed last on stdout: accuracy per epoch, final accuracy, time)

The update is Caffe's own, not torch.optim.SGD's: Caffe folds the learning rate into the
momentum history (v = m*v + lr*(g + wd*w); w -= v), which differs from PyTorch's form while the
"inv" policy changes lr. Seeded (init, batch order); deterministic algorithms on GPU.

Usage: python3 train_lenet.py [--data data/mnist] [--out data/lenet] [--epochs 20] [--seed 1]
                              [--device auto|cpu|cuda]
Works with torch 1.13 (CPU) and torch 2.x (GPU).
"""
import argparse
import json
import math
import os
import sys
import time

# cuBLAS needs this before CUDA starts for deterministic matrix products.
os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# Caffe's examples/mnist/lenet_solver.prototxt
BASE_LR = 0.01
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
GAMMA = 1e-4
POWER = 0.75
BATCH = 64
# lenet_train_test.prototxt: lr_mult 1 for weights, 2 for biases (decay_mult 1 for both).
LR_MULT = {'w': 1.0, 'b': 2.0}

# name, weight shape, bias shape: exactly the blobs of models/lenet.prototxt.
LAYERS = [
    ('conv1', (20, 1, 5, 5), (20,)),
    ('conv2', (50, 20, 5, 5), (50,)),
    ('ip1', (500, 800), (500,)),
    ('ip2', (10, 500), (10,)),
]


def caffe_xavier(shape, generator):
    """Caffe's XavierFiller (variance_norm FAN_IN): uniform in +-sqrt(3 / fan_in), fan_in = count / num."""
    fan_in = int(np.prod(shape[1:]))
    scale = math.sqrt(3.0 / fan_in)
    return (torch.rand(shape, generator=generator, dtype=torch.float32) * 2 - 1) * scale


def init_params(seed):
    """LeNet's parameters on the CPU, drawn from one seeded generator (same values on any device)."""
    g = torch.Generator().manual_seed(seed)
    params = {}
    for name, wshape, bshape in LAYERS:
        params[name + '.w'] = caffe_xavier(wshape, g)
        params[name + '.b'] = torch.zeros(bshape, dtype=torch.float32)
    return params


def lenet(p, x):
    """Caffe's LeNet forward: no padding; max pooling 2x2/2 with Caffe's ceil rounding; logits out."""
    x = F.conv2d(x, p['conv1.w'], p['conv1.b'])                 # 20 x 24 x 24
    x = F.max_pool2d(x, 2, 2, ceil_mode=True)                   # 20 x 12 x 12
    x = F.conv2d(x, p['conv2.w'], p['conv2.b'])                 # 50 x 8 x 8
    x = F.max_pool2d(x, 2, 2, ceil_mode=True)                   # 50 x 4 x 4
    x = x.reshape(x.shape[0], -1)                               # 800, C,H,W order like Caffe
    x = F.relu(F.linear(x, p['ip1.w'], p['ip1.b']))             # 500
    return F.linear(x, p['ip2.w'], p['ip2.b'])                  # 10 (the prototxt's softmax follows)


def predict(p, images, batch=500):
    """Top-1 class of every image."""
    out = []
    with torch.no_grad():
        for i in range(0, images.shape[0], batch):
            out.append(lenet(p, images[i:i + batch]).argmax(dim=1))
    return torch.cat(out)


def inv_lr(iteration):
    """Caffe's "inv" learning-rate policy."""
    return BASE_LR * (1.0 + GAMMA * iteration) ** (-POWER)


def load(data_dir, split, device):
    images = np.load(os.path.join(data_dir, split + '-images.npy')).astype(np.float32, copy=False)
    labels = np.load(os.path.join(data_dir, split + '-labels.npy'))
    if images.ndim != 4 or images.shape[1:] != (1, 28, 28) or labels.shape != (images.shape[0],):
        sys.exit('%s: expected images [N,1,28,28] and labels [N], got %s and %s' % (split, images.shape, labels.shape))
    return torch.from_numpy(images).to(device), torch.from_numpy(labels.astype(np.int64)).to(device)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default=os.path.join('data', 'mnist'), help='folder of scripts/mnist-data.js output')
    ap.add_argument('--out', default=os.path.join('data', 'lenet'), help='folder for the weight .npy files')
    ap.add_argument('--epochs', type=int, default=20)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--device', default='auto', choices=['auto', 'cpu', 'cuda'])
    args = ap.parse_args()

    device = torch.device('cuda' if args.device == 'auto' and torch.cuda.is_available() else
                          ('cpu' if args.device == 'auto' else args.device))
    torch.manual_seed(args.seed)
    if device.type == 'cuda':
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.backends.cuda.matmul.allow_tf32 = False  # plain FP32, like our engine's FP32
        torch.backends.cudnn.allow_tf32 = False
    torch.use_deterministic_algorithms(True, warn_only=True)

    train_x, train_y = load(args.data, 'train', device)
    test_x, test_y = load(args.data, 'test', device)
    params = {k: v.to(device).requires_grad_(True) for k, v in init_params(args.seed).items()}
    history = {k: torch.zeros_like(v) for k, v in params.items()}
    order_gen = torch.Generator().manual_seed(args.seed + 1)

    print('torch %s on %s; train %d, test %d; %d epochs of %d iterations (batch %d)' % (
        torch.__version__, device, train_x.shape[0], test_x.shape[0], args.epochs,
        math.ceil(train_x.shape[0] / BATCH), BATCH), file=sys.stderr, flush=True)

    curve = []
    iteration = 0
    start = time.time()
    for epoch in range(1, args.epochs + 1):
        # Epoch 1 keeps the file's (already shuffled) order; later epochs reshuffle, seeded.
        order = (torch.arange(train_x.shape[0]) if epoch == 1 else
                 torch.randperm(train_x.shape[0], generator=order_gen)).to(device)
        loss_sum = 0.0
        for i in range(0, order.shape[0], BATCH):
            idx = order[i:i + BATCH]
            loss = F.cross_entropy(lenet(params, train_x[idx]), train_y[idx])
            for v in params.values():
                v.grad = None
            loss.backward()
            lr = inv_lr(iteration)
            with torch.no_grad():
                for k, v in params.items():
                    step = lr * LR_MULT[k.rsplit('.', 1)[1]]
                    history[k].mul_(MOMENTUM).add_(v.grad + WEIGHT_DECAY * v, alpha=step)
                    v.sub_(history[k])
            loss_sum += loss.item() * idx.shape[0]
            iteration += 1
        acc = (predict(params, test_x) == test_y).float().mean().item()
        curve.append({'epoch': epoch, 'iterations': iteration, 'lr': inv_lr(iteration),
                      'train_loss': round(loss_sum / train_x.shape[0], 5), 'test_accuracy': round(acc, 5)})
        print('epoch %3d  iter %5d  lr %.5f  train loss %.4f  test accuracy %.4f  (%.1f s)' % (
            epoch, iteration, inv_lr(iteration), loss_sum / train_x.shape[0], acc, time.time() - start),
            file=sys.stderr, flush=True)
    seconds = time.time() - start

    os.makedirs(args.out, exist_ok=True)
    for k, v in params.items():
        np.save(os.path.join(args.out, k + '.npy'), np.ascontiguousarray(v.detach().cpu().numpy(), dtype=np.float32))
    pred = predict(params, test_x)
    np.save(os.path.join(args.out, 'test-pred.npy'), pred.cpu().numpy().astype(np.float32))
    final = (pred == test_y).float().mean().item()
    result = {
        'model': 'lenet', 'framework': 'pytorch', 'torch': torch.__version__, 'device': str(device),
        'seed': args.seed, 'epochs': args.epochs, 'iterations': iteration, 'batch': BATCH,
        'train_samples': int(train_x.shape[0]), 'test_samples': int(test_x.shape[0]),
        'test_correct': int((pred == test_y).sum().item()), 'test_accuracy': final,
        'train_seconds': round(seconds, 2), 'curve': curve,
    }
    line = json.dumps(result)
    with open(os.path.join(args.out, 'train.json'), 'w') as f:
        f.write(line + '\n')
    print(line)


if __name__ == '__main__':
    main()
