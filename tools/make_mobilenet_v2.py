#!/usr/bin/python3
"""make_mobilenet_v2.py - writes a MobileNetV2 with random weights as a TF.js
layers model (model.json in Keras functional form + float32 weight shards of
about 4 MB, as the TF.js converter splits them).

The architecture is Keras applications' MobileNetV2 (TF 2.x layer names): a
3x3 stride-2 convolution + BN + ReLU6, 17 inverted residual blocks (1x1
expansion, ZeroPadding2D before the stride-2 depthwise 3x3, 1x1 projection,
Add when the stride is 1 and the channels match), a 1x1 convolution to 1280
channels, global average pooling and a softmax Dense.  Weights are drawn
He-normal (BN statistics near 1 / 0) from a fixed seed, so the same arguments
always give the same files; only numpy is needed.

  /usr/bin/python3 tools/make_mobilenet_v2.py --out DIR [--seed 0] [--size 224] [--alpha 1.0]
        [--classes 1000] [--last-filters 1280]
  /usr/bin/python3 tools/make_mobilenet_v2.py --goldens [DIR]

--goldens writes a small model (64x64, alpha 0.25, 16 classes, 128 last
filters, float16 weights: 300 KB) to tests/goldens/mobilenet_v2/ with what tools/tfjs_reference.py
(float64 PyTorch, needs torch) computes on it: input.npy (2,64,64,3),
targets.npy, logits.npy and input_grad.npy (d sum_b logits[b, target_b] / d
input), for tests/c/test_mobilenet_v2.c.
"""

import argparse
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARD_BYTES = 4 * 1024 * 1024

# (expansion, filters, stride) of the 17 blocks, as in Keras.
BLOCKS = [(1, 16, 1),
          (6, 24, 2), (6, 24, 1),
          (6, 32, 2), (6, 32, 1), (6, 32, 1),
          (6, 64, 2), (6, 64, 1), (6, 64, 1), (6, 64, 1),
          (6, 96, 1), (6, 96, 1), (6, 96, 1),
          (6, 160, 2), (6, 160, 1), (6, 160, 1),
          (6, 320, 1)]


def make_divisible(value, divisor=8):
    """Keras' _make_divisible: the nearest multiple of divisor, never 10% below value."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def correct_pad(size):
    """Keras' imagenet_utils.correct_pad for a 3x3 stride-2 window: ((top, bottom), (left, right))."""
    return [[1 - (1 - size % 2), 1], [1 - (1 - size % 2), 1]]


class Builder:
    """Keras layer configs and float32 weights of one functional model."""

    def __init__(self, rng):
        self.rng = rng
        self.layers = []
        self.weights = []      # (layer, param, array)
        self.channels = {}     # layer name -> output channels
        self.size = {}         # layer name -> spatial size (square)

    def _layer(self, class_name, name, inputs, config, channels, size):
        config = dict({"name": name, "trainable": True, "dtype": "float32"}, **config)
        self.layers.append({"name": name, "class_name": class_name, "config": config,
                            "inbound_nodes": [[[i, 0, 0, {}] for i in inputs]] if inputs else []})
        self.channels[name], self.size[name] = channels, size
        return name

    def _weight(self, layer, param, values):
        self.weights.append((layer, param, np.asarray(values, dtype=np.float32)))

    def input(self, size):
        return self._layer("InputLayer", "input_1", [], {"batch_input_shape": [None, size, size, 3],
                                                          "sparse": False}, 3, size)

    def conv(self, name, x, filters, kernel, strides=1, padding="same", scale=2.0):
        cin = self.channels[x]
        fan_in = kernel * kernel * cin
        self._weight(name, "kernel", self.rng.standard_normal((kernel, kernel, cin, filters)) * np.sqrt(scale / fan_in))
        out = -(-self.size[x] // strides) if padding == "same" else (self.size[x] - kernel) // strides + 1
        return self._layer("Conv2D", name, [x], {
            "filters": filters, "kernel_size": [kernel, kernel], "strides": [strides, strides], "padding": padding,
            "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear", "use_bias": False},
            filters, out)

    def depthwise(self, name, x, strides, padding):
        c = self.channels[x]
        self._weight(name, "depthwise_kernel", self.rng.standard_normal((3, 3, c, 1)) * np.sqrt(2.0 / 9))
        out = -(-self.size[x] // strides) if padding == "same" else (self.size[x] - 3) // strides + 1
        return self._layer("DepthwiseConv2D", name, [x], {
            "kernel_size": [3, 3], "strides": [strides, strides], "padding": padding,
            "data_format": "channels_last", "dilation_rate": [1, 1], "depth_multiplier": 1,
            "activation": "linear", "use_bias": False}, c, out)

    def batch_norm(self, name, x):
        c = self.channels[x]
        self._weight(name, "gamma", self.rng.uniform(0.8, 1.2, c))
        self._weight(name, "beta", self.rng.standard_normal(c) * 0.1)
        self._weight(name, "moving_mean", self.rng.standard_normal(c) * 0.1)
        self._weight(name, "moving_variance", self.rng.uniform(0.8, 1.2, c))
        return self._layer("BatchNormalization", name, [x], {
            "axis": -1, "momentum": 0.999, "epsilon": 0.001, "center": True, "scale": True},
            c, self.size[x])

    def relu6(self, name, x):
        return self._layer("ReLU", name, [x], {"max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0},
                           self.channels[x], self.size[x])

    def zero_pad(self, name, x):
        pad = correct_pad(self.size[x])
        return self._layer("ZeroPadding2D", name, [x], {"padding": pad, "data_format": "channels_last"},
                           self.channels[x], self.size[x] + pad[0][0] + pad[0][1])

    def add(self, name, a, b):
        return self._layer("Add", name, [a, b], {}, self.channels[a], self.size[a])

    def global_avg_pool(self, name, x):
        return self._layer("GlobalAveragePooling2D", name, [x], {"data_format": "channels_last"},
                           self.channels[x], 1)

    def dense(self, name, x, units):
        fan_in = self.channels[x]
        self._weight(name, "kernel", self.rng.standard_normal((fan_in, units)) * np.sqrt(1.0 / fan_in))
        self._weight(name, "bias", self.rng.standard_normal(units) * 0.01)
        return self._layer("Dense", name, [x], {"units": units, "activation": "softmax", "use_bias": True},
                           units, 1)


def inverted_residual(b, x, expansion, filters, stride, alpha, block_id):
    in_channels = b.channels[x]
    out_channels = make_divisible(int(filters * alpha), 8)
    prefix = "block_%d_" % block_id if block_id else "expanded_conv_"
    y = x
    if block_id:
        y = b.conv(prefix + "expand", y, expansion * in_channels, 1)
        y = b.batch_norm(prefix + "expand_BN", y)
        y = b.relu6(prefix + "expand_relu", y)
    if stride == 2:
        y = b.zero_pad(prefix + "pad", y)
    y = b.depthwise(prefix + "depthwise", y, stride, "same" if stride == 1 else "valid")
    y = b.batch_norm(prefix + "depthwise_BN", y)
    y = b.relu6(prefix + "depthwise_relu", y)
    # Linear bottleneck: unit gain, so that the residual sums stay of order one.
    y = b.conv(prefix + "project", y, out_channels, 1, scale=1.0)
    y = b.batch_norm(prefix + "project_BN", y)
    if in_channels == out_channels and stride == 1:
        y = b.add(prefix + "add", x, y)
    return y


def build(seed, size, alpha, classes, last_filters):
    b = Builder(np.random.default_rng(seed))
    x = b.input(size)
    x = b.conv("Conv1", x, make_divisible(32 * alpha, 8), 3, strides=2)
    x = b.batch_norm("bn_Conv1", x)
    x = b.relu6("Conv1_relu", x)
    for block_id, (expansion, filters, stride) in enumerate(BLOCKS):
        x = inverted_residual(b, x, expansion, filters, stride, alpha, block_id)
    x = b.conv("Conv_1", x, last_filters, 1)
    x = b.batch_norm("Conv_1_bn", x)
    x = b.relu6("out_relu", x)
    x = b.global_avg_pool("global_average_pooling2d", x)
    x = b.dense("predictions", x, classes)
    return b, x


def write_model(b, output, folder, name, float16=False):
    """model.json + group1-shardKofN.bin: weights sorted by layer name (as the
    converter lists them), concatenated and cut every 4 MB; float16 stores
    them as the converter's --quantize_float16 does."""
    os.makedirs(folder, exist_ok=True)
    entries, blobs = [], []
    for layer, param, values in sorted(b.weights, key=lambda item: item[0]):
        entry = {"name": "%s/%s" % (layer, param), "shape": list(values.shape), "dtype": "float32"}
        if float16:
            entry["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
        entries.append(entry)
        blobs.append(values.astype("<f2" if float16 else "<f4").tobytes())
    data = b"".join(blobs)
    n_shards = max(1, -(-len(data) // SHARD_BYTES))
    paths = ["group1-shard%dof%d.bin" % (k + 1, n_shards) for k in range(n_shards)]
    for k, path in enumerate(paths):
        with open(os.path.join(folder, path), "wb") as f:
            f.write(data[k * SHARD_BYTES:(k + 1) * SHARD_BYTES])
    topology = {"keras_version": "2.2.4-tf", "backend": "tensorflow", "model_config": {
        "class_name": "Model", "config": {"name": name, "layers": b.layers,
                                          "input_layers": [["input_1", 0, 0]],
                                          "output_layers": [[output, 0, 0]]}}}
    doc = {"format": "layers-model", "generatedBy": "keras v2.2.4-tf",
           "convertedBy": "tools/make_mobilenet_v2.py",
           "modelTopology": topology, "weightsManifest": [{"paths": paths, "weights": entries}]}
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(doc, f)
    return len(data)


def write_goldens(folder):
    """The small model and its float64 PyTorch reference results."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import tfjs_reference as ref  # torch: only needed here
    size, classes = 64, 16
    b, output = build(seed=1, size=size, alpha=0.25, classes=classes, last_filters=128)
    write_model(b, output, folder, "mobilenetv2_0.25_64", float16=True)
    rng = np.random.default_rng(7)
    inputs = rng.uniform(-1.0, 1.0, (2, size, size, 3)).astype(np.float32)
    model = ref.TfjsModel(os.path.join(folder, "model.json"))
    logits = model.run(inputs)["logits"]
    # The second-best class of image 0 and the best of image 1: not always the top.
    targets = np.array([np.argsort(logits[0])[-2], np.argmax(logits[1])], dtype=np.int32)
    result = model.run(inputs, targets=targets)
    np.save(os.path.join(folder, "input.npy"), inputs)
    np.save(os.path.join(folder, "targets.npy"), targets)
    np.save(os.path.join(folder, "logits.npy"), result["logits"])
    np.save(os.path.join(folder, "input_grad.npy"), result["input_grad"])
    print("goldens in %s: logits %s, |grad| max %.3g" % (folder, np.round(result["logits"][0, :4], 3),
                                                         np.abs(result["input_grad"]).max()))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="folder for model.json and the shards")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=224, help="input height and width")
    parser.add_argument("--alpha", type=float, default=1.0, help="width multiplier")
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--last-filters", type=int, default=None,
                        help="channels of the last 1x1 convolution (Keras: 1280, or 1280*alpha above 1)")
    parser.add_argument("--goldens", nargs="?", const=os.path.join(ROOT, "tests", "goldens", "mobilenet_v2"),
                        help="write the test model and its reference results (default tests/goldens/mobilenet_v2)")
    args = parser.parse_args(argv)
    if args.goldens:
        write_goldens(args.goldens)
        return 0
    if not args.out:
        parser.error("--out or --goldens is required")
    if args.size < 32 or args.alpha <= 0 or args.classes < 1:
        parser.error("need --size >= 32, --alpha > 0 and --classes >= 1")
    last = args.last_filters or (make_divisible(1280 * args.alpha, 8) if args.alpha > 1.0 else 1280)
    b, output = build(args.seed, args.size, args.alpha, args.classes, last)
    nbytes = write_model(b, output, args.out, "mobilenetv2_%g_%d" % (args.alpha, args.size))
    print("%s: %d layers, %d weights (%.1f MB)" % (args.out, len(b.layers), nbytes // 4, nbytes / 2**20))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
