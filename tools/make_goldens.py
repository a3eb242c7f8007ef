#!/usr/bin/python3
"""make_goldens.py - writes the golden files the C tests compare against.

1. tests/goldens/models/<name>/: small random CNNs written as TF.js layers
   models (model.json + group1-shard1of1.bin, the converter's format) that
   together use every layer and option the library supports, and what the
   PyTorch reference (tools/tfjs_reference.py, float64) computes on them:
     input.npy         (N,H,W,C) float32 input, N = 2
     targets.npy       (N,) int32 class per image (different per image)
     logits.npy        (N,K) pre-softmax scores
     probs.npy         (N,K) softmax of the logits
     grad_standard.npy, grad_guided.npy, grad_deconvnet.npy
                       (N,H,W,C) d sum_b logits[b,targets[b]] / d input
     layer.txt         name of one 4-D layer
     layer_act.npy     that layer's output
     layer_grad.npy    d sum_b logits[b,targets[b]] / d layer output (standard rule)
2. tests/goldens/resnet50/<photo>/ for the photos the C tests use, from the
   Keras ResNet50 in the asset cache ($SAL_CACHE_DIR, default .cache;
   not committed):
     top5.npy (int32), top5_probs.npy, logits.npy (1000,)
     input_stats.npy   (2,3): per-channel mean (row 0) and population std
                       (row 1) of the preprocessed 224x224 input, in the
                       model's (BGR) channel order
     grad_small.npy    (28,28,3): RGB-order input gradient of the top-1 logit,
                       averaged over 8x8 blocks
     grad_stats.npy    (3,): sum |g|, max |g|, L2 norm of the full gradient
   and the same for pattern/, a synthetic 224x224 image (pattern_image) that
   the C test rebuilds exactly: no JPEG decoder or resize in between.

Run from anywhere with the Debian python:
  /usr/bin/python3 tools/make_goldens.py [--models-only | --resnet-only]
The random models come from a fixed seed, so reruns give the same files.
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tfjs_reference as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDENS = os.path.join(ROOT, "tests", "goldens")
ASSETS = ref.assets_dir()
SEED = 20240611


# --------------------------------------------------------- model builder

class ModelBuilder:
    """Collects Keras layer configs and weights for one model."""

    def __init__(self, name, rng, sequential=False):
        self.name = name
        self.rng = rng
        self.sequential = sequential
        self.layers = []
        self.weights = []   # (layer name, param, float32 array) in creation order
        self.shapes = {}    # layer name -> output shape without the batch
        self.input_name = None

    # -- plumbing

    def _layer(self, class_name, name, inputs, config, shape):
        spec = {"name": name, "class_name": class_name,
                "config": dict({"name": name, "trainable": True, "dtype": "float32"}, **config)}
        if not self.sequential:
            spec["inbound_nodes"] = [[[i, 0, 0, {}] for i in inputs]] if inputs else []
        self.layers.append(spec)
        self.shapes[name] = tuple(shape)
        return name

    def _weight(self, layer, param, array):
        self.weights.append((layer, param, np.asarray(array, dtype=np.float32)))

    def _normal(self, shape, std):
        return self.rng.standard_normal(shape) * std

    def input(self, h, w, c, name="input_1"):
        self.input_name = name
        if self.sequential:
            self.shapes[name] = (h, w, c)
            self.pending_input_shape = [None, h, w, c]
            return name
        return self._layer("InputLayer", name, [], {"batch_input_shape": [None, h, w, c], "sparse": False},
                           (h, w, c))

    def _first_layer_config(self, config):
        if self.sequential and not self.layers:
            config["batch_input_shape"] = self.pending_input_shape
        return config

    # -- layers

    def conv(self, name, x, filters, kernel, strides=1, padding="valid", dilation=1, activation="linear",
             use_bias=True):
        h, w, cin = self.shapes[x]
        kh, kw = ref.pair(kernel)
        sh, sw = ref.pair(strides)
        dh, dw = ref.pair(dilation)
        oh, ow = _window_out(h, kh, sh, dh, padding), _window_out(w, kw, sw, dw, padding)
        self._weight(name, "kernel", self._normal((kh, kw, cin, filters), np.sqrt(2.0 / (kh * kw * cin))))
        if use_bias:
            self._weight(name, "bias", self._normal((filters,), 0.1))
        config = self._first_layer_config({
            "filters": filters, "kernel_size": [kh, kw], "strides": [sh, sw], "padding": padding,
            "data_format": "channels_last", "dilation_rate": [dh, dw], "activation": activation,
            "use_bias": use_bias})
        return self._layer("Conv2D", name, [x], config, (oh, ow, filters))

    def depthwise(self, name, x, kernel, multiplier, strides=1, padding="valid", activation="linear"):
        h, w, cin = self.shapes[x]
        kh, kw = ref.pair(kernel)
        sh, sw = ref.pair(strides)
        self._weight(name, "depthwise_kernel", self._normal((kh, kw, cin, multiplier), np.sqrt(2.0 / (kh * kw))))
        self._weight(name, "bias", self._normal((cin * multiplier,), 0.1))
        config = {"kernel_size": [kh, kw], "strides": [sh, sw], "padding": padding,
                  "data_format": "channels_last", "dilation_rate": [1, 1], "depth_multiplier": multiplier,
                  "activation": activation, "use_bias": True}
        shape = (_window_out(h, kh, sh, 1, padding), _window_out(w, kw, sw, 1, padding), cin * multiplier)
        return self._layer("DepthwiseConv2D", name, [x], config, shape)

    def separable(self, name, x, filters, kernel, multiplier, padding="valid", activation="linear"):
        h, w, cin = self.shapes[x]
        kh, kw = ref.pair(kernel)
        self._weight(name, "depthwise_kernel", self._normal((kh, kw, cin, multiplier), np.sqrt(1.0 / (kh * kw))))
        self._weight(name, "pointwise_kernel",
                     self._normal((1, 1, cin * multiplier, filters), np.sqrt(2.0 / (cin * multiplier))))
        self._weight(name, "bias", self._normal((filters,), 0.1))
        config = {"filters": filters, "kernel_size": [kh, kw], "strides": [1, 1], "padding": padding,
                  "data_format": "channels_last", "dilation_rate": [1, 1], "depth_multiplier": multiplier,
                  "activation": activation, "use_bias": True}
        shape = (_window_out(h, kh, 1, 1, padding), _window_out(w, kw, 1, 1, padding), filters)
        return self._layer("SeparableConv2D", name, [x], config, shape)

    def batch_norm(self, name, x, center=True, scale=True, epsilon=1e-3):
        c = self.shapes[x][-1]
        if scale:
            self._weight(name, "gamma", self.rng.uniform(0.5, 1.5, c))
        if center:
            self._weight(name, "beta", self._normal((c,), 0.2))
        self._weight(name, "moving_mean", self._normal((c,), 0.3))
        self._weight(name, "moving_variance", self.rng.uniform(0.5, 2.0, c))
        config = {"axis": [3], "momentum": 0.99, "epsilon": epsilon, "center": center, "scale": scale}
        return self._layer("BatchNormalization", name, [x], config, self.shapes[x])

    def dense(self, name, x, units, activation="linear"):
        fan_in = self.shapes[x][-1]
        self._weight(name, "kernel", self._normal((fan_in, units), np.sqrt(2.0 / fan_in)))
        self._weight(name, "bias", self._normal((units,), 0.1))
        config = {"units": units, "activation": activation, "use_bias": True}
        return self._layer("Dense", name, [x], config, self.shapes[x][:-1] + (units,))

    def activation(self, name, x, kind):
        return self._layer("Activation", name, [x], {"activation": kind}, self.shapes[x])

    def relu(self, name, x, max_value=None):
        config = {"max_value": max_value, "negative_slope": 0.0, "threshold": 0.0}
        return self._layer("ReLU", name, [x], config, self.shapes[x])

    def pool(self, kind, name, x, size, strides=None, padding="valid"):
        h, w, c = self.shapes[x]
        k = ref.pair(size)
        s = ref.pair(strides) if strides else k
        config = {"pool_size": list(k), "padding": padding, "strides": list(s), "data_format": "channels_last"}
        shape = (_window_out(h, k[0], s[0], 1, padding), _window_out(w, k[1], s[1], 1, padding), c)
        return self._layer(kind + "Pooling2D", name, [x], config, shape)

    def global_pool(self, kind, name, x):
        return self._layer("Global%sPooling2D" % kind, name, [x], {"data_format": "channels_last"},
                           self.shapes[x][-1:])

    def zero_pad(self, name, x, padding):
        h, w, c = self.shapes[x]
        if isinstance(padding, int):
            (top, bottom), (left, right) = (padding, padding), (padding, padding)
        elif isinstance(padding[0], int):
            (top, bottom), (left, right) = (padding[0],) * 2, (padding[1],) * 2
        else:
            (top, bottom), (left, right) = padding
        config = {"padding": padding, "data_format": "channels_last"}
        return self._layer("ZeroPadding2D", name, [x], config, (h + top + bottom, w + left + right, c))

    def merge(self, kind, name, xs):
        shapes = [self.shapes[x] for x in xs]
        if kind == "Concatenate":
            shape = shapes[0][:-1] + (sum(s[-1] for s in shapes),)
            return self._layer(kind, name, xs, {"axis": -1}, shape)
        return self._layer(kind, name, xs, {}, max(shapes, key=lambda s: np.prod(s)))

    def flatten(self, name, x):
        return self._layer("Flatten", name, [x], {"data_format": "channels_last"},
                           (int(np.prod(self.shapes[x])),))

    def reshape(self, name, x, target):
        return self._layer("Reshape", name, [x], {"target_shape": list(target)}, tuple(target))

    def dropout(self, name, x, rate=0.5):
        return self._layer("Dropout", name, [x], {"rate": rate, "noise_shape": None, "seed": None},
                           self.shapes[x])

    # -- output

    def topology(self, output):
        if self.sequential:
            model_config = {"class_name": "Sequential", "config": {"name": self.name, "layers": self.layers}}
        else:
            model_config = {"class_name": "Model", "config": {
                "name": self.name, "layers": self.layers,
                "input_layers": [[self.input_name, 0, 0]], "output_layers": [[output, 0, 0]]}}
        return {"keras_version": "2.2.4-tf", "backend": "tensorflow", "model_config": model_config}


def _window_out(size, k, stride, dilation, padding):
    if padding == "same":
        return -(-size // stride)
    return (size - (k - 1) * dilation - 1) // stride + 1


# ------------------------------------------------------- writing a model

def quantize_uint8(values):
    """Affine uint8 quantization with the minimum nudged so that 0 is exact
    (as the TF.js converter does). Returns (q, scale, min)."""
    lo, hi = float(values.min()), float(values.max())
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    if lo <= 0.0 <= hi:
        lo = -round(-lo / scale) * scale
    q = np.clip(np.round((values.astype(np.float64) - lo) / scale), 0, 255).astype(np.uint8)
    return q, scale, lo


def encode_weight(layer, param, values, quantization):
    entry = {"name": "%s/%s" % (layer, param), "shape": list(values.shape), "dtype": "float32"}
    if quantization == "float16":
        entry["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
        return entry, values.astype("<f2").tobytes()
    if quantization == "uint8":
        q, scale, lo = quantize_uint8(values)
        entry["quantization"] = {"min": lo, "scale": scale, "dtype": "uint8", "original_dtype": "float32"}
        return entry, q.tobytes()
    return entry, values.astype("<f4").tobytes()


def write_tfjs_model(builder, output, folder, quantization=None):
    """Writes model.json + group1-shard1of1.bin.  Weights are listed by layer
    name (sorted, as the converter does) and then in parameter order."""
    entries, blobs = [], []
    for layer, param, values in sorted(builder.weights, key=lambda item: item[0]):
        entry, blob = encode_weight(layer, param, values, quantization)
        entries.append(entry)
        blobs.append(blob)
    shard = "group1-shard1of1.bin"
    doc = {"format": "layers-model", "generatedBy": "keras v2.2.4-tf",
           "convertedBy": "TensorFlow.js Converter v1.2.6 (tools/make_goldens.py)",
           "modelTopology": builder.topology(output),
           "weightsManifest": [{"paths": [shard], "weights": entries}]}
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(doc, f)
    with open(os.path.join(folder, shard), "wb") as f:
        f.write(b"".join(blobs))


# ------------------------------------------------------------ the models

def seq_small(rng):
    """Sequential: conv, max pool, relu, fused-relu conv, dropout, flatten,
    dense tanh, dense softmax (logits = before the softmax)."""
    b = ModelBuilder("seq_small", rng, sequential=True)
    x = b.input(12, 12, 3)
    x = b.conv("conv_1", x, 4, 3)
    x = b.pool("Max", "pool_1", x, 2)
    x = b.activation("act_1", x, "relu")
    x = b.conv("conv_2", x, 6, 3, padding="same", activation="relu")
    x = b.dropout("dropout_1", x)
    x = b.flatten("flatten_1", x)
    x = b.dense("dense_1", x, 8, activation="tanh")
    x = b.dense("dense_2", x, 5, activation="softmax")
    return b, x, "conv_2", None


def resnet_block(rng):
    """Odd 17x19 input, asymmetric zero padding, stride-2 conv without bias +
    foldable BN, max pool 3x3 s2 same, a bottleneck with a 3-way Add, a
    standalone BN after the Add, ReLU layer, global average pool, dense."""
    b = ModelBuilder("resnet_block", rng)
    x = b.input(17, 19, 3)
    x = b.zero_pad("pad", x, ((1, 2), (0, 1)))
    x = b.conv("conv1", x, 8, 3, strides=2, use_bias=False)
    x = b.batch_norm("bn_conv1", x)
    x = b.pool("Max", "pool1", x, 3, strides=2, padding="same")
    stem = b.activation("act1", x, "relu")
    y = b.conv("res_a", stem, 8, 1)
    y = b.batch_norm("bn_a", y)
    y = b.relu("relu_a", y)
    y = b.conv("res_b", y, 8, 3, padding="same")
    y = b.batch_norm("bn_b", y)
    shortcut = b.conv("shortcut", stem, 8, 1)
    x = b.merge("Add", "add", [y, shortcut, stem])
    x = b.batch_norm("bn_add", x)
    x = b.activation("act_out", x, "relu")
    x = b.global_pool("Average", "gap", x)
    x = b.dense("fc", x, 6)
    return b, x, "bn_a", None


def mobile_se(rng):
    """float16 weights: stride-2 'same' conv on odd sizes, ReLU(max_value=6),
    depthwise (multiplier 2) + BN + relu6, squeeze-excite (GAP, Reshape,
    Dense on a 4-D tensor, hard_sigmoid, broadcast Multiply), swish, global
    max pool, final Activation('softmax')."""
    b = ModelBuilder("mobile_se", rng)
    x = b.input(15, 13, 4)
    x = b.conv("conv_s2", x, 8, 3, strides=2, padding="same", use_bias=False)
    x = b.batch_norm("bn_s2", x)
    x = b.relu("relu6_s2", x, max_value=6.0)
    x = b.depthwise("dw", x, 3, 2, padding="same")
    x = b.batch_norm("bn_dw", x)
    x = b.activation("act_dw", x, "relu6")
    se = b.global_pool("Average", "se_gap", x)
    se = b.reshape("se_reshape", se, (1, 1, 16))
    se = b.dense("se_reduce", se, 4, activation="relu")
    se = b.dense("se_expand", se, 16, activation="hard_sigmoid")
    x = b.merge("Multiply", "se_mul", [x, se])
    x = b.conv("project", x, 6, 1)
    x = b.activation("act_swish", x, "swish")
    x = b.global_pool("Max", "gmp", x)
    x = b.dense("logits_dense", x, 4)
    x = b.activation("softmax", x, "softmax")
    return b, x, "se_mul", "float16"


def inception_mix(rng):
    """uint8 weights: parallel branches (1x1 conv with fused relu, dilated
    3x3 conv, separable conv with fused sigmoid, 3x3 s1 'same' average pool)
    concatenated, a mid-network softmax over channels, stride-2 valid conv,
    2x2 s2 'same' average pool with padding, flatten, dense."""
    b = ModelBuilder("inception_mix", rng)
    x = b.input(13, 11, 3)
    b1 = b.conv("b1", x, 4, 1, activation="relu")
    b2 = b.conv("b2", x, 4, 3, padding="same", dilation=2)
    b3 = b.separable("b3", x, 4, 3, 2, padding="same", activation="sigmoid")
    b4 = b.pool("Average", "b4_pool", x, 3, strides=1, padding="same")
    x = b.merge("Concatenate", "mix", [b1, b2, b3, b4])
    x = b.activation("mix_softmax", x, "softmax")
    x = b.conv("conv_out", x, 6, 3, strides=2)
    x = b.pool("Average", "avgpool", x, 2, strides=2, padding="same")
    x = b.flatten("flat", x)
    x = b.dense("fc", x, 7)
    return b, x, "mix", "uint8"


def activations(rng):
    """Every Activation kind on branches of one conv (+ BN without gamma),
    joined by Add, an equal-shape Multiply and Concatenate, a standalone BN
    without beta, a stride-2 'same' conv with fused relu."""
    b = ModelBuilder("activations", rng)
    x = b.input(10, 9, 2)
    x = b.conv("c1", x, 6, 3, padding="same")
    x = b.batch_norm("bn1", x, scale=False)
    kinds = ["relu", "relu6", "sigmoid", "tanh", "swish", "linear", "hard_sigmoid"]
    act = {k: b.activation("a_" + k, x, k) for k in kinds}
    added = b.merge("Add", "add", [act["relu"], act["relu6"], act["sigmoid"]])
    multiplied = b.merge("Multiply", "mul", [act["tanh"], act["swish"]])
    x = b.merge("Concatenate", "cat", [added, multiplied, act["linear"], act["hard_sigmoid"]])
    x = b.batch_norm("bn_cat", x, center=False)
    x = b.conv("c2", x, 8, 3, strides=2, padding="same", activation="relu")
    x = b.global_pool("Average", "gap", x)
    x = b.dense("out", x, 3)
    return b, x, "c1", None


def pools_reshape(rng):
    """Symmetric zero padding, 5x5 s2 'same' conv on an even size, 2x2 s1
    max pool, non-square kernel and strides, 3x3 s2 valid average pool,
    (1, 0) zero padding, Reshape to rank 3, Dense on a rank-3 tensor."""
    b = ModelBuilder("pools_reshape", rng)
    x = b.input(20, 20, 3)
    x = b.zero_pad("zp", x, 1)
    x = b.conv("c1", x, 6, 5, strides=2, padding="same")
    x = b.pool("Max", "mp", x, 2, strides=1)
    x = b.conv("c2", x, 6, (1, 3), strides=(2, 1), activation="relu")
    x = b.pool("Average", "ap", x, 3, strides=2)
    x = b.zero_pad("zp2", x, (1, 0))
    x = b.conv("c3", x, 8, 1)
    h, w, c = b.shapes[x]
    x = b.reshape("to_rows", x, (h * w, c))
    x = b.dense("row_dense", x, 5, activation="tanh")
    x = b.flatten("flat", x)
    x = b.dense("fc", x, 4)
    return b, x, "mp", None


MODELS = [seq_small, resnet_block, mobile_se, inception_mix, activations, pools_reshape]


# --------------------------------------------------------- small goldens

def save(folder, name, array):
    np.save(os.path.join(folder, name), array)


def make_model_goldens(make, seed, root):
    """Each model has its own seed, so changing one leaves the others alone."""
    rng = np.random.default_rng(seed)
    builder, output, layer, quantization = make(rng)
    folder = os.path.join(root, builder.name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    write_tfjs_model(builder, output, folder, quantization)

    model = ref.TfjsModel(os.path.join(folder, "model.json"))
    h, w, c = builder.shapes[builder.input_name]
    inputs = rng.standard_normal((2, h, w, c)).astype(np.float32)
    classes = builder.shapes[output][-1]
    targets = rng.choice(classes, size=2, replace=False).astype(np.int32)
    save(folder, "input.npy", inputs)
    save(folder, "targets.npy", targets)
    standard = model.run(inputs, targets, "standard", layer)
    save(folder, "logits.npy", standard["logits"])
    save(folder, "probs.npy", standard["probs"])
    save(folder, "grad_standard.npy", standard["input_grad"])
    for rule in ("guided", "deconvnet"):
        grad = model.run(inputs, targets, rule)["input_grad"]
        if np.allclose(grad, standard["input_grad"]):
            raise AssertionError("%s: the %s rule changes nothing; the golden would test nothing"
                                 % (builder.name, rule))
        save(folder, "grad_%s.npy" % rule, grad)
    with open(os.path.join(folder, "layer.txt"), "w") as f:
        f.write(layer + "\n")
    save(folder, "layer_act.npy", standard["layer_act"])
    save(folder, "layer_grad.npy", standard["layer_grad"])
    _check_finite_differences(model, inputs, targets, standard["input_grad"], np.random.default_rng(seed + 1))
    _describe(builder.name, standard, quantization)


def _check_finite_differences(model, inputs, targets, grad, rng, samples=12, eps=1e-5):
    """The autograd input gradient against central differences of the
    float64 score at a few random input cells."""
    for _ in range(samples):
        cell = tuple(rng.integers(0, d) for d in inputs.shape)
        x = inputs.astype(np.float64)
        up, down = x.copy(), x.copy()
        up[cell] += eps
        down[cell] -= eps
        numeric = (_score64(model, up, targets) - _score64(model, down, targets)) / (2 * eps)
        if abs(numeric - grad[cell]) > 1e-4 * (1 + abs(numeric)):
            raise AssertionError("finite differences disagree at %s: %g vs %g" % (cell, numeric, grad[cell]))


def _score64(model, x, targets):
    logits = model.logits_of(model.forward(torch.from_numpy(x)))
    return float(logits[np.arange(len(targets)), targets].sum())


def _describe(name, result, quantization):
    def magnitude(key):
        return float(np.abs(result[key]).max())
    print("%-14s %-8s logits %s |logits| %.3g |grad| %.3g |layer_act| %.3g |layer_grad| %.3g"
          % (name, quantization or "float32", result["logits"].shape, magnitude("logits"),
             magnitude("input_grad"), magnitude("layer_act"), magnitude("layer_grad")))


def make_all_model_goldens():
    root = os.path.join(GOLDENS, "models")
    os.makedirs(root, exist_ok=True)
    for index, make in enumerate(MODELS):
        make_model_goldens(make, SEED + 100 * index, root)


# ------------------------------------------------------ ResNet50 goldens

def block_average(grad, block):
    h, w, c = grad.shape
    return grad.reshape(h // block, block, w // block, block, c).mean(axis=(1, 3))


def pattern_image(size=224):
    """A synthetic RGB photo that C can rebuild bit for bit (tests/c/test_resnet50.c
    computes the same formula): it checks the network without any decoder or
    resize differences in between."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    red = 127.5 + 127.5 * np.sin(0.11 * x + 0.05 * y)
    green = 127.5 + 127.5 * np.cos(0.07 * y - 0.03 * x + 1.0)
    blue = (x.astype(np.int64) ^ y.astype(np.int64)) & 255
    return np.stack([red, green, blue], axis=-1).astype(np.float32).astype(np.float64)


def resnet_goldens(model, x, folder):
    """Goldens for one preprocessed (BGR, caffe) 224x224 input."""
    os.makedirs(folder, exist_ok=True)
    stats = np.stack([x.mean(axis=(0, 1)), x.std(axis=(0, 1))]).astype(np.float32)
    first = model.run(x[None].astype(np.float32))
    top5 = np.argsort(-first["probs"][0])[:5].astype(np.int32)
    result = model.run(x[None].astype(np.float32), targets=[int(top5[0])])
    grad = ref.gradient_to_rgb(result["input_grad"][0].astype(np.float64), "caffe")
    grad_stats = np.array([np.abs(grad).sum(), np.abs(grad).max(), np.sqrt((grad ** 2).sum())],
                          dtype=np.float32)
    save(folder, "top5.npy", top5)
    save(folder, "top5_probs.npy", result["probs"][0][top5])
    save(folder, "logits.npy", result["logits"][0])
    save(folder, "input_stats.npy", stats)
    save(folder, "grad_small.npy", block_average(grad, 8).astype(np.float32))
    save(folder, "grad_stats.npy", grad_stats)
    logits = np.sort(result["logits"][0])[::-1]
    print("%s: top5 %s probs %s logit gaps %s grad stats %s" % (
        os.path.basename(folder), top5.tolist(), np.round(result["probs"][0][top5], 5).tolist(),
        np.round(logits[:5] - logits[1:6], 4).tolist(), grad_stats.tolist()))


def make_resnet_goldens(photos=("cat.jpg", "coffee.jpg")):
    model = ref.TfjsModel(os.path.join(ASSETS, "resnet50", "model.json"))
    root = os.path.join(GOLDENS, "resnet50")
    for photo in photos:
        x = ref.photo_input(os.path.join(ASSETS, "photos", photo), "caffe")
        resnet_goldens(model, x, os.path.join(root, os.path.splitext(photo)[0]))
    resnet_goldens(model, ref.preprocess(pattern_image(), "caffe"), os.path.join(root, "pattern"))


def main(argv):
    parser = argparse.ArgumentParser(description="Writes tests/goldens.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--models-only", action="store_true")
    group.add_argument("--resnet-only", action="store_true")
    args = parser.parse_args(argv)
    if not args.resnet_only:
        make_all_model_goldens()
    if not args.models_only:
        make_resnet_goldens()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
