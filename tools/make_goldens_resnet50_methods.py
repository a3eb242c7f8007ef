#!/usr/bin/python3
"""make_goldens_resnet50_methods.py - ResNet50 goldens for Integrated Gradients
and SmoothGrad (tests/c/test_methods_resnet50.c).

The Keras ResNet50 of the asset cache (not committed) runs in the independent
PyTorch interpreter of TF.js models (tools/tfjs_reference.py) in float64, with
autograd for every gradient.  The input is make_goldens.pattern_image() (a
synthetic photo the C test rebuilds exactly) under caffe preprocessing; F(x)
is the pre-softmax logit of the top class.  Maps are brought to the photo's
RGB order and stored averaged over 8x8 blocks (28x28x3) with their stats, so
the goldens stay small (tests/goldens/methods/resnet50/):

  target.npy      (1,) int32: the top class explained
  ig_small.npy    (28,28,3) Integrated Gradients from the black baseline x'
                  (pixels 0, preprocessed) with the trapezoid rule on 16
                  points a_k = k/15 (end weights halved):
                      IG = (x - x') * sum_k w_k dF(x' + a_k (x - x'))/dx
                  the very sum the library computes for 16 trapezoid steps
  ig_stats.npy    (3,) sum, sum |m|, max |m| of the full IG map
  ig_scores.npy   (4,) F(x), F(x'), F(x) - F(x'), completeness gap
                  F(x) - F(x') - sum IG
  smooth_mean_small.npy, smooth_squared_small.npy
                  (28,28,3) SmoothGrad (mean of dF/dx) and SmoothGrad^2 (mean
                  of (dF/dx)^2) over the 3 inputs x + e_s
  smooth_mean_stats.npy, smooth_squared_stats.npy
                  (3,) sum, sum |m|, max |m| of the full maps
  noise_check.npy (3,3) per sample: sum e, sum e^2, e[0] of the noise, so the
                  C test can tell a noise mismatch from a gradient mismatch

The noise e_s (model space, 224x224x3, float32) is not stored: both sides
compute it from the formula of smooth_noise() below (a counter hash, uniforms,
Box-Muller in float64, one cast to float32), Gaussian with
sigma = 0.15 (max x - min x) as SmoothGrad's default.

Run with the Debian python (reruns give the same files; about 80 s on 2 cores):
  /usr/bin/python3 tools/make_goldens_resnet50_methods.py
"""

import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_goldens  # noqa: E402
import tfjs_reference as ref  # noqa: E402

GOLDENS = os.path.join(make_goldens.GOLDENS, "methods", "resnet50")
PREPROCESS = "caffe"
IG_STEPS = 16
SMOOTH_SAMPLES = 3
SMOOTH_NOISE = 0.15
NOISE_SEED = 20240801
TWO_PI = 6.283185307179586
MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def save(name, array):
    np.save(os.path.join(GOLDENS, name), array)


# ----------------------------------------------------------------- noise

def splitmix64(counters):
    """SplitMix64's output function of each uint64 counter (wraps mod 2^64)."""
    z = counters + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniform(counters):
    """Exact doubles in (0, 1]: the top 53 bits of the hash, plus one, over 2^53."""
    return ((splitmix64(counters) >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * 2.0 ** -53


def smooth_noise(sample, count, sigma):
    """e_s[i] = float32(sigma * sqrt(-2 ln u1) cos(2 pi u2)), u1 and u2 the
    uniforms of counters seed + 2^32 s + 2i and + 2i + 1."""
    first = np.uint64(NOISE_SEED) + np.uint64(sample) * np.uint64(1 << 32)
    index = np.arange(count, dtype=np.uint64) * np.uint64(2)
    u1, u2 = uniform(first + index), uniform(first + index + np.uint64(1))
    return (sigma * (np.sqrt(-2.0 * np.log(u1)) * np.cos(TWO_PI * u2))).astype(np.float32)


# ------------------------------------------------------------- gradients

def input_gradients(model, inputs, target, chunk=4):
    """Scores F and dF/dx (float64) for each input of a batch."""
    scores, grads = [], []
    for first in range(0, len(inputs), chunk):
        batch = torch.from_numpy(np.ascontiguousarray(inputs[first:first + chunk], dtype=np.float64))
        batch.requires_grad_(True)
        logits = model.logits_of(model.forward(batch))[:, target]
        (grad,) = torch.autograd.grad(logits.sum(), batch)
        scores.append(logits.detach().numpy())
        grads.append(grad.numpy())
    return np.concatenate(scores), np.concatenate(grads)


def trapezoid(points):
    alphas = np.linspace(0.0, 1.0, points)
    weights = np.full(points, 1.0 / (points - 1))
    weights[[0, -1]] *= 0.5
    return alphas, weights


def stats(values):
    return np.array([values.sum(), np.abs(values).sum(), np.abs(values).max()], dtype=np.float64)


def save_map(name, model_space):
    rgb = ref.gradient_to_rgb(model_space, PREPROCESS)
    save(name + "_small.npy", make_goldens.block_average(rgb, 8).astype(np.float32))
    save(name + "_stats.npy", stats(rgb).astype(np.float32))
    return stats(rgb)


def integrated_gradients(model, x, baseline, target):
    x64, b64 = x.astype(np.float64), baseline.astype(np.float64)
    alphas, weights = trapezoid(IG_STEPS)
    path = b64[None] * (1.0 - alphas)[:, None, None, None] + x64[None] * alphas[:, None, None, None]
    scores, grads = input_gradients(model, path, target)
    mask = (x64 - b64) * np.tensordot(weights, grads, axes=1)
    difference = scores[-1] - scores[0]  # F(x) - F(x'): the path's ends
    gap = difference - mask.sum()
    save("ig_scores.npy", np.array([scores[-1], scores[0], difference, gap], dtype=np.float32))
    ig = save_map("ig", mask)
    print("IG-%d: F(x) %.5f  F(x') %.5f  F(x) - F(x') %.5f  gap %.5f (%.2f%%)  stats %s" % (
        IG_STEPS, scores[-1], scores[0], difference, gap, 100 * abs(gap) / abs(difference), ig))


def smoothgrad(model, x, target):
    sigma = SMOOTH_NOISE * (float(x.max()) - float(x.min()))
    noise = np.stack([smooth_noise(s, x.size, sigma).reshape(x.shape) for s in range(SMOOTH_SAMPLES)])
    flat = noise.reshape(SMOOTH_SAMPLES, -1).astype(np.float64)
    save("noise_check.npy", np.stack([flat.sum(axis=1), (flat ** 2).sum(axis=1), flat[:, 0]], axis=1))
    _, grads = input_gradients(model, x[None] + noise, target)  # x + e summed in float32, as in C
    mean = save_map("smooth_mean", grads.mean(axis=0))
    squared = save_map("smooth_squared", (grads ** 2).mean(axis=0))
    print("SmoothGrad (%d samples, sigma %.4f, noise std %.4f): mean stats %s, squared stats %s" % (
        SMOOTH_SAMPLES, sigma, flat.std(), mean, squared))


def main():
    start = time.time()
    os.makedirs(GOLDENS, exist_ok=True)
    model = ref.TfjsModel(os.path.join(ref.assets_dir(), "resnet50", "model.json"))
    x = ref.preprocess(make_goldens.pattern_image(), PREPROCESS).astype(np.float32)
    black = ref.preprocess(np.zeros_like(x, dtype=np.float64), PREPROCESS).astype(np.float32)
    with torch.no_grad():
        logits = model.logits_of(model.forward(torch.from_numpy(x[None].astype(np.float64))))[0].numpy()
    target = int(np.argmax(logits))
    save("target.npy", np.array([target], dtype=np.int32))
    print("pattern image: top class %d" % target)
    integrated_gradients(model, x, black, target)
    smoothgrad(model, x, target)
    print("done in %.0f s" % (time.time() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
