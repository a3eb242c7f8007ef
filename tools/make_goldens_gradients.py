#!/usr/bin/python3
"""make_goldens_gradients.py - goldens for the gradient methods, SmoothGrad and
Integrated Gradients (tests/c/test_methods_gradients.c, tests/c/test_explain.c).

Everything comes from the independent PyTorch interpreter of TF.js models
(tools/tfjs_reference.py) with autograd, in float64 unless said otherwise.
F(x) is the pre-softmax logit of the target class.

1. tests/goldens/methods/gradients/<model>/ for three small CNNs of
   tests/goldens/models (seq_small, resnet_block, inception_mix):
     input.npy      (H,W,C) float32 model input x
     target.npy     (1,) int32 class explained
     baseline.npy   (H,W,C) float32 IG baseline x'
     grad_x_input.npy, guided.npy, deconvnet.npy
                    (H,W,C) x * dF/dx; dF/dx under the guided and deconvnet ReLU rules
     ig_trapezoid128.npy
                    (H,W,C) (x - x') * sum_k w_k dF(x' + a_k (x - x'))/dx with the
                    trapezoid rule on 128 points a_k = k/127: the very sum the
                    library computes for 128 trapezoid steps
     ig_integral.npy
                    (H,W,C) the same with 16385 points: the integral itself.  A
                    ReLU network's gradient jumps along the path, so the
                    trapezoid's error falls as 1/points; it is printed (against
                    4097 points) and stays below 1e-4 of the largest value
     ig_scores.npy  (2,) F(x), F(x')
     smooth_noise.npy (S,H,W,C) float32 Gaussian noise, sigma = 0.15 (max x - min x)
     smooth_mean.npy, smooth_squared.npy, smooth_vargrad.npy
                    (H,W,C) mean, mean of squares and population variance of
                    dF/dx over the inputs x + noise (summed in float32, as in C)
2. tests/goldens/methods/gradients/resnet50_pattern/ from the Keras ResNet50
   of the asset cache (not committed) on make_goldens.pattern_image() with
   caffe preprocessing, explaining the top class (target.npy):
     guided_small.npy, grad_x_input_small.npy
                    (28,28,3) RGB-order maps averaged over 8x8 blocks
     guided_stats.npy, grad_x_input_stats.npy
                    (3,) sum |m|, max |m|, L2 norm of the full map

Run with the Debian python (reruns give the same files):
  /usr/bin/python3 tools/make_goldens_gradients.py [--models-only | --resnet-only]
"""

import argparse
import os
import shutil
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_goldens  # noqa: E402
import tfjs_reference as ref  # noqa: E402

GOLDENS = os.path.join(make_goldens.GOLDENS, "methods", "gradients")
MODELS = ("seq_small", "resnet_block", "inception_mix")
SEED = 20240712
SMOOTH_SAMPLES = 8
SMOOTH_NOISE = 0.15


def save(folder, name, array):
    np.save(os.path.join(folder, name), array)


def input_gradients(model, inputs, target, rule="standard", chunk=512):
    """dF/dx for each input of a batch (float64), the batch split in chunks."""
    grads = []
    for first in range(0, len(inputs), chunk):
        batch = torch.from_numpy(np.ascontiguousarray(inputs[first:first + chunk], dtype=np.float64))
        batch.requires_grad_(True)
        logits = model.logits_of(model.forward(batch, rule))
        (grad,) = torch.autograd.grad(logits[:, target].sum(), batch)
        grads.append(grad.numpy())
    return np.concatenate(grads)


def scores(model, inputs, target):
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float64))
        return model.logits_of(model.forward(x))[:, target].numpy()


def trapezoid(points):
    alphas = np.linspace(0.0, 1.0, points)
    weights = np.full(points, 1.0 / (points - 1))
    weights[[0, -1]] *= 0.5
    return alphas, weights


def integrated_gradients(model, x, baseline, target, points):
    x64, b64 = x.astype(np.float64), baseline.astype(np.float64)
    alphas, weights = trapezoid(points)
    path = b64[None] * (1.0 - alphas)[:, None, None, None] + x64[None] * alphas[:, None, None, None]
    grads = input_gradients(model, path, target)
    return (x64 - b64) * np.tensordot(weights, grads, axes=1)


def smoothgrad(model, x, target, rng):
    sigma = SMOOTH_NOISE * (float(x.max()) - float(x.min()))
    noise = (rng.standard_normal((SMOOTH_SAMPLES,) + x.shape) * sigma).astype(np.float32)
    grads = input_gradients(model, x[None] + noise, target)  # x + noise summed in float32
    return noise, grads.mean(axis=0), (grads ** 2).mean(axis=0), grads.var(axis=0)


def model_goldens(name, seed):
    rng = np.random.default_rng(seed)
    model = ref.TfjsModel(os.path.join(make_goldens.GOLDENS, "models", name, "model.json"))
    h, w, c = model.input_shape[1:]
    x = rng.standard_normal((h, w, c)).astype(np.float32)
    baseline = (0.5 * rng.standard_normal((h, w, c))).astype(np.float32)
    classes = int(scores(model, x[None], slice(None)).shape[-1])
    target = int(rng.integers(classes))
    folder = os.path.join(GOLDENS, name)
    os.makedirs(folder, exist_ok=True)
    save(folder, "input.npy", x)
    save(folder, "target.npy", np.array([target], dtype=np.int32))
    save(folder, "baseline.npy", baseline)

    standard = input_gradients(model, x[None], target)[0]
    save(folder, "grad_x_input.npy", (x.astype(np.float64) * standard).astype(np.float32))
    for rule, file in (("guided", "guided.npy"), ("deconvnet", "deconvnet.npy")):
        grad = input_gradients(model, x[None], target, rule)[0]
        if np.allclose(grad, standard):
            raise AssertionError("%s: the %s rule changes nothing; the golden would test nothing" % (name, rule))
        save(folder, file, grad.astype(np.float32))

    ig128 = integrated_gradients(model, x, baseline, target, 128)
    integral = integrated_gradients(model, x, baseline, target, 16385)
    coarser = integrated_gradients(model, x, baseline, target, 4097)
    integral_error = np.abs(integral - coarser).max() / np.abs(integral).max()
    if integral_error > 4e-4:
        raise AssertionError("%s: the IG integral is not converged (%.2g)" % (name, integral_error))
    ends = scores(model, np.stack([x, baseline]), target)
    save(folder, "ig_trapezoid128.npy", ig128.astype(np.float32))
    save(folder, "ig_integral.npy", integral.astype(np.float32))
    save(folder, "ig_scores.npy", ends.astype(np.float32))

    noise, mean, squared, variance = smoothgrad(model, x, target, rng)
    save(folder, "smooth_noise.npy", noise)
    save(folder, "smooth_mean.npy", mean.astype(np.float32))
    save(folder, "smooth_squared.npy", squared.astype(np.float32))
    save(folder, "smooth_vargrad.npy", variance.astype(np.float32))
    difference = ends[0] - ends[1]
    print("%-14s target %d  F(x) - F(x') %.5f  gap of IG-128 %.2e  of the integral %.2e  |IG-128 - integral| %.2e"
          "  integral's error < %.1e of its max" % (name, target, difference, difference - ig128.sum(),
                                                  difference - integral.sum(), np.abs(ig128 - integral).max(),
                                                  integral_error / 3))


def stats(values):
    return np.array([np.abs(values).sum(), np.abs(values).max(), np.sqrt((values ** 2).sum())], dtype=np.float32)


def resnet_goldens():
    start = time.time()
    model = ref.TfjsModel(os.path.join(ref.assets_dir(), "resnet50", "model.json"))
    x = ref.preprocess(make_goldens.pattern_image(), "caffe").astype(np.float32)
    target = int(np.argmax(scores(model, x[None], slice(None))[0]))
    folder = os.path.join(GOLDENS, "resnet50_pattern")
    os.makedirs(folder, exist_ok=True)
    save(folder, "target.npy", np.array([target], dtype=np.int32))
    standard = input_gradients(model, x[None], target)[0]
    guided = input_gradients(model, x[None], target, "guided")[0]
    maps = {"guided": guided, "grad_x_input": x.astype(np.float64) * standard}
    for name, values in maps.items():
        rgb = ref.gradient_to_rgb(values, "caffe")
        save(folder, name + "_small.npy", make_goldens.block_average(rgb, 8).astype(np.float32))
        save(folder, name + "_stats.npy", stats(rgb))
    print("resnet50_pattern: target %d, %.0f s" % (target, time.time() - start))


def main(argv):
    parser = argparse.ArgumentParser(description="Writes tests/goldens/methods/gradients.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--models-only", action="store_true")
    group.add_argument("--resnet-only", action="store_true")
    args = parser.parse_args(argv)
    if not args.resnet_only:
        for index, name in enumerate(MODELS):
            if os.path.isdir(os.path.join(GOLDENS, name)):
                shutil.rmtree(os.path.join(GOLDENS, name))
            model_goldens(name, SEED + 100 * index)
    if not args.models_only:
        resnet_goldens()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
