#!/usr/bin/python3
"""tfjs_reference.py - an independent PyTorch interpreter of TF.js layers models.

The reference the C executor is tested against.  It reads model.json and its
weight shards (float32, or quantized float16 / uint8 / uint16), evaluates the
Keras layers with torch operations on NHWC tensors and gives:

  * every layer's output by name,
  * the logits (the value before a final softmax, else the model output) and
    their softmax,
  * autograd gradients of sum_b logits[b, target_b] with respect to the input
    and to a named layer's output, with the ReLU backward rule switchable
    (standard, guided, deconvnet).

Numbers: weights are stored as float32 (quantized weights are dequantized to
float32 exactly as TF.js does); the evaluation itself runs in float64 by
default, so the result is the exact value of the float32 model up to float64
rounding.  Pass dtype=torch.float32 to evaluate in float32 instead.

It also implements the photo pipeline the C library documents (decode to RGB,
antialiased bilinear resize covering 224x224, centre crop, caffe/tf/torch
preprocessing).

Run with the Debian python (/usr/bin/python3: torch, numpy, PIL).
  /usr/bin/python3 tools/tfjs_reference.py MODEL.json --image PHOTO [--preprocess caffe]
  /usr/bin/python3 tools/tfjs_reference.py --self-test
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

RELU_RULES = ("standard", "guided", "deconvnet")


def assets_dir():
    """The set-up's asset folder: $SAL_CACHE_DIR/assets, by default
    <repo>/.cache/assets (as in scripts/fetch_assets.sh)."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(os.path.abspath(os.environ.get("SAL_CACHE_DIR") or os.path.join(repo, ".cache")), "assets")


class ModelError(Exception):
    """A model.json or shard the reference cannot interpret."""


# --------------------------------------------------------------- weights

def _dequantize(raw, count, quantization, name):
    qdtype = quantization.get("dtype")
    if qdtype == "float16":
        return np.frombuffer(raw, dtype="<f2", count=count).astype(np.float32)
    if qdtype in ("uint8", "uint16"):
        q = np.frombuffer(raw, dtype="u1" if qdtype == "uint8" else "<u2", count=count)
        # TF.js computes q * scale + min in double and stores float32.
        return (q.astype(np.float64) * quantization["scale"] + quantization["min"]).astype(np.float32)
    raise ModelError("weight '%s': unsupported quantization dtype %r" % (name, qdtype))


def _bytes_per_element(entry):
    quantization = entry.get("quantization")
    dtype = quantization["dtype"] if quantization else entry.get("dtype", "float32")
    sizes = {"float32": 4, "int32": 4, "float16": 2, "uint16": 2, "uint8": 1}
    if dtype not in sizes:
        raise ModelError("weight '%s': unsupported dtype %r" % (entry["name"], dtype))
    return sizes[dtype]


def _decode_weight(entry, buf, offset):
    name = entry["name"]
    shape = [int(d) for d in entry["shape"]]
    count = int(np.prod(shape)) if shape else 1
    nbytes = count * _bytes_per_element(entry)
    if offset + nbytes > len(buf):
        raise ModelError("weight '%s' runs past the end of its shards" % name)
    raw = buf[offset:offset + nbytes]
    if entry.get("quantization"):
        values = _dequantize(raw, count, entry["quantization"], name)
    elif entry.get("dtype", "float32") == "float32":
        values = np.frombuffer(raw, dtype="<f4", count=count).copy()
    else:
        values = np.frombuffer(raw, dtype="<i4", count=count).astype(np.float32)
    return values.reshape(shape), offset + nbytes


def load_weights(model_dir, manifest):
    """Returns {"layer/param": float32 array}.  Each manifest group's shards
    are concatenated in path order and its weights read back to back."""
    weights = {}
    for group in manifest:
        buf = b"".join(_read_bytes(os.path.join(model_dir, p)) for p in group["paths"])
        offset = 0
        for entry in group["weights"]:
            weights[entry["name"]], offset = _decode_weight(entry, buf, offset)
        if offset != len(buf):
            raise ModelError("shards %s hold %d bytes, the manifest lists %d"
                             % (group["paths"], len(buf), offset))
    return weights


def _read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


# ------------------------------------------------------------ activations

class ClippedRelu(torch.autograd.Function):
    """min(max(x, 0), upper) with a switchable backward rule.
    mask = [0 < x < upper]; standard: dy*mask; guided: max(dy,0)*mask;
    deconvnet: max(dy,0)."""

    @staticmethod
    def forward(ctx, x, upper, rule):
        ctx.save_for_backward(x)
        ctx.upper = upper
        ctx.rule = rule
        y = torch.clamp(x, min=0)
        return torch.clamp(y, max=upper) if upper is not None else y

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        mask = x > 0
        if ctx.upper is not None:
            mask = mask & (x < ctx.upper)
        if ctx.rule == "standard":
            dx = dy * mask
        elif ctx.rule == "guided":
            dx = torch.clamp(dy, min=0) * mask
        else:
            dx = torch.clamp(dy, min=0)
        return dx, None, None


def apply_activation(name, x, rule):
    if name in (None, "linear"):
        return x
    if name == "relu":
        return ClippedRelu.apply(x, None, rule)
    if name == "relu6":
        return ClippedRelu.apply(x, 6.0, rule)
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "tanh":
        return torch.tanh(x)
    if name == "softmax":
        return torch.softmax(x, dim=-1)
    if name == "swish":
        return x * torch.sigmoid(x)
    if name == "hard_sigmoid":
        return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)
    raise ModelError("unsupported activation %r" % name)


# ------------------------------------------------------- spatial helpers

def pair(value):
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ModelError("expected two values, got %r" % (value,))
        return int(value[0]), int(value[1])
    return int(value), int(value)


def same_padding(size, kernel, stride, dilation=1):
    """TF 'same': (first, second) padding along one axis."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def _to_nchw(x):
    return x.permute(0, 3, 1, 2)


def _to_nhwc(x):
    return x.permute(0, 2, 3, 1)


def _window_pads(x_nchw, config, kernel, strides, dilation):
    """(left, right, top, bottom) padding for a window op, per F.pad."""
    if config.get("padding", "valid") == "valid":
        return (0, 0, 0, 0)
    if config["padding"] != "same":
        raise ModelError("layer '%s': unsupported padding %r" % (config.get("name"), config["padding"]))
    top, bottom = same_padding(x_nchw.shape[2], kernel[0], strides[0], dilation[0])
    left, right = same_padding(x_nchw.shape[3], kernel[1], strides[1], dilation[1])
    return (left, right, top, bottom)


def _check_channels_last(config):
    fmt = config.get("data_format", "channels_last")
    if fmt not in (None, "channels_last"):
        raise ModelError("layer '%s': data_format %r is not supported" % (config.get("name"), fmt))


def conv_nhwc(x, kernel_torch, bias, config, groups=1):
    """kernel_torch: [cout, cin/groups, kh, kw]."""
    _check_channels_last(config)
    strides = pair(config.get("strides", 1))
    dilation = pair(config.get("dilation_rate", 1))
    ksize = (kernel_torch.shape[2], kernel_torch.shape[3])
    xc = _to_nchw(x)
    xc = F.pad(xc, _window_pads(xc, config, ksize, strides, dilation))
    y = F.conv2d(xc, kernel_torch, bias, stride=strides, dilation=dilation, groups=groups)
    return _to_nhwc(y)


def depthwise_kernel_torch(kernel):
    """Keras [kh,kw,cin,mult] -> torch grouped [cin*mult,1,kh,kw];
    output channel c*mult+m."""
    kh, kw, cin, mult = kernel.shape
    return kernel.permute(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw)


# ---------------------------------------------------------------- layers

class Layer:
    def __init__(self, spec, inbound):
        self.name = spec.get("name") or spec["config"]["name"]
        self.class_name = spec["class_name"]
        self.config = spec.get("config", {})
        self.inbound = inbound  # names of the input layers


def _functional_inbound(spec):
    nodes = spec.get("inbound_nodes", [])
    if not nodes:
        return []
    if len(nodes) != 1:
        raise ModelError("layer '%s' is called %d times (shared layers are not supported)"
                         % (spec.get("name"), len(nodes)))
    node = nodes[0]
    if isinstance(node, dict):
        raise ModelError("layer '%s': Keras 3 inbound node format is not supported" % spec.get("name"))
    return [item[0] for item in node]


def parse_topology(model_config):
    """-> (layers in file order, input layer name, output layer name)."""
    class_name = model_config["class_name"]
    config = model_config["config"]
    if class_name == "Sequential":
        return _parse_sequential(config)
    if class_name in ("Model", "Functional"):
        layers = [Layer(spec, _functional_inbound(spec)) for spec in config["layers"]]
        if len(config["input_layers"]) != 1 or len(config["output_layers"]) != 1:
            raise ModelError("only models with one input and one output are supported")
        return layers, config["input_layers"][0][0], config["output_layers"][0][0]
    raise ModelError("unsupported model class %r" % class_name)


def _parse_sequential(config):
    specs = config["layers"] if isinstance(config, dict) else config
    layers = []
    previous = None
    if specs and specs[0]["class_name"] != "InputLayer":
        shape = specs[0]["config"].get("batch_input_shape")
        if shape is None:
            raise ModelError("Sequential model: the first layer has no batch_input_shape")
        previous = "input"
        layers.append(Layer({"name": previous, "class_name": "InputLayer",
                             "config": {"batch_input_shape": shape}}, []))
    for spec in specs:
        layer = Layer(spec, [previous] if previous else [])
        layers.append(layer)
        previous = layer.name
    return layers, layers[0].name, layers[-1].name


class Evaluation:
    """The tensors of one forward pass."""

    def __init__(self):
        self.outputs = {}      # layer name -> tensor
        self.pre_activation = {}  # layer name -> value before a fused activation


class TfjsModel:
    def __init__(self, model_json_path, dtype=torch.float64):
        with open(model_json_path) as f:
            doc = json.load(f)
        if doc.get("format", "layers-model") != "layers-model":
            raise ModelError("format %r is not a layers model" % doc.get("format"))
        topology = doc["modelTopology"]
        model_config = topology.get("model_config", topology)
        self.layers, self.input_name, self.output_name = parse_topology(model_config)
        self.by_name = {layer.name: layer for layer in self.layers}
        self.order = self._topological_order()
        self.dtype = dtype
        raw = load_weights(os.path.dirname(os.path.abspath(model_json_path)), doc["weightsManifest"])
        self.weights = {}
        for key, value in raw.items():
            layer_name, _, param = key.rpartition("/")
            param = param.split(":")[0]
            self.weights.setdefault(layer_name, {})[param] = torch.from_numpy(value).to(dtype)
        self.input_shape = self.by_name[self.input_name].config.get("batch_input_shape")

    def _topological_order(self):
        done, order = set(), []
        pending = list(self.layers)
        while pending:
            ready = [l for l in pending if all(i in done for i in l.inbound)]
            if not ready:
                raise ModelError("layers %s have missing or cyclic inputs" % [l.name for l in pending])
            for layer in ready:
                order.append(layer)
                done.add(layer.name)
            pending = [l for l in pending if l.name not in done]
        return order

    def _param(self, layer, name, required=True):
        value = self.weights.get(layer.name, {}).get(name)
        if value is None and required:
            raise ModelError("layer '%s': missing weight '%s'" % (layer.name, name))
        return value

    # One method per layer class; each returns (output, pre_activation or None).

    def _conv2d(self, layer, x, rule):
        kernel = self._param(layer, "kernel").permute(3, 2, 0, 1)
        bias = self._param(layer, "bias", required=layer.config.get("use_bias", True))
        y = conv_nhwc(x, kernel, bias, layer.config)
        return apply_activation(layer.config.get("activation"), y, rule), y

    def _depthwise(self, layer, x, rule):
        kernel = self._param(layer, "depthwise_kernel")
        bias = self._param(layer, "bias", required=layer.config.get("use_bias", True))
        y = conv_nhwc(x, depthwise_kernel_torch(kernel), bias, layer.config, groups=kernel.shape[2])
        return apply_activation(layer.config.get("activation"), y, rule), y

    def _separable(self, layer, x, rule):
        depthwise = self._param(layer, "depthwise_kernel")
        pointwise = self._param(layer, "pointwise_kernel")
        bias = self._param(layer, "bias", required=layer.config.get("use_bias", True))
        mid = conv_nhwc(x, depthwise_kernel_torch(depthwise), None, layer.config, groups=depthwise.shape[2])
        y = torch.matmul(mid, pointwise[0, 0])
        if bias is not None:
            y = y + bias
        return apply_activation(layer.config.get("activation"), y, rule), y

    def _batch_norm(self, layer, x, rule):
        axis = layer.config.get("axis", -1)
        axis = axis[0] if isinstance(axis, list) else axis
        if axis not in (-1, x.dim() - 1):
            raise ModelError("layer '%s': BatchNormalization over axis %r is not supported" % (layer.name, axis))
        eps = layer.config.get("epsilon", 1e-3)
        mean = self._param(layer, "moving_mean")
        var = self._param(layer, "moving_variance")
        y = (x - mean) / torch.sqrt(var + eps)
        if layer.config.get("scale", True):
            y = y * self._param(layer, "gamma")
        if layer.config.get("center", True):
            y = y + self._param(layer, "beta")
        return y, None

    def _dense(self, layer, x, rule):
        y = torch.matmul(x, self._param(layer, "kernel"))
        bias = self._param(layer, "bias", required=layer.config.get("use_bias", True))
        if bias is not None:
            y = y + bias
        return apply_activation(layer.config.get("activation"), y, rule), y

    def _relu_layer(self, layer, x, rule):
        cfg = layer.config
        if cfg.get("negative_slope", 0) not in (0, None) or cfg.get("threshold", 0) not in (0, None):
            raise ModelError("layer '%s': ReLU with negative_slope/threshold is not supported" % layer.name)
        upper = cfg.get("max_value")
        return ClippedRelu.apply(x, None if upper is None else float(upper), rule), x

    def _pool(self, layer, x, rule):
        cfg = layer.config
        _check_channels_last(cfg)
        size = pair(cfg.get("pool_size", 2))
        strides = pair(cfg.get("strides") or size)
        xc = _to_nchw(x)
        pads = _window_pads(xc, cfg, size, strides, (1, 1))
        if layer.class_name == "MaxPooling2D":
            y = F.max_pool2d(F.pad(xc, pads, value=-math.inf), size, strides)
        else:
            total = F.avg_pool2d(F.pad(xc, pads), size, strides, divisor_override=1)
            ones = F.pad(torch.ones_like(xc[:1, :1]), pads)
            count = F.avg_pool2d(ones, size, strides, divisor_override=1)
            y = total / count
        return _to_nhwc(y), None

    def _global_pool(self, layer, x, rule):
        _check_channels_last(layer.config)
        keep = bool(layer.config.get("keepdims", False))
        if layer.class_name == "GlobalAveragePooling2D":
            return x.mean(dim=(1, 2), keepdim=keep), None
        return x.amax(dim=(1, 2), keepdim=keep), None

    def _zero_pad(self, layer, x, rule):
        padding = layer.config.get("padding", 1)
        if isinstance(padding, (list, tuple)) and isinstance(padding[0], (list, tuple)):
            (top, bottom), (left, right) = padding
        else:
            (top, left) = pair(padding)
            bottom, right = top, left
        return F.pad(x, (0, 0, left, right, top, bottom)), None

    def _merge(self, layer, xs, rule):
        if layer.class_name == "Add":
            y = xs[0]
            for x in xs[1:]:
                y = y + x
        elif layer.class_name == "Multiply":
            y = xs[0]
            for x in xs[1:]:
                y = y * x
        else:
            axis = layer.config.get("axis", -1)
            y = torch.cat(xs, dim=axis)
        return y, None

    def _reshape(self, layer, x, rule):
        if layer.class_name == "Flatten":
            return x.reshape(x.shape[0], -1), None
        return x.reshape(x.shape[0], *layer.config["target_shape"]), None

    def _activation_layer(self, layer, x, rule):
        if layer.class_name == "Softmax":
            if layer.config.get("axis", -1) not in (-1, x.dim() - 1):
                raise ModelError("layer '%s': softmax over a non-last axis" % layer.name)
            return torch.softmax(x, dim=-1), x
        return apply_activation(layer.config.get("activation"), x, rule), x

    HANDLERS = {
        "Conv2D": "_conv2d", "DepthwiseConv2D": "_depthwise", "SeparableConv2D": "_separable",
        "BatchNormalization": "_batch_norm", "Dense": "_dense", "ReLU": "_relu_layer",
        "Activation": "_activation_layer", "Softmax": "_activation_layer",
        "MaxPooling2D": "_pool", "AveragePooling2D": "_pool",
        "GlobalAveragePooling2D": "_global_pool", "GlobalMaxPooling2D": "_global_pool",
        "ZeroPadding2D": "_zero_pad", "Flatten": "_reshape", "Reshape": "_reshape",
    }
    MERGES = ("Add", "Multiply", "Concatenate")
    IDENTITIES = ("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout")

    def _evaluate_layer(self, layer, inputs, rule):
        if layer.class_name in self.MERGES:
            return self._merge(layer, inputs, rule)
        if len(inputs) != 1:
            raise ModelError("layer '%s' (%s) takes one input, got %d"
                             % (layer.name, layer.class_name, len(inputs)))
        if layer.class_name in self.IDENTITIES:
            return inputs[0], None
        handler = self.HANDLERS.get(layer.class_name)
        if handler is None:
            raise ModelError("layer '%s': unsupported layer class %s" % (layer.name, layer.class_name))
        return getattr(self, handler)(layer, inputs[0], rule)

    def forward(self, x, rule="standard"):
        """x: torch tensor NHWC (self.dtype).  Returns an Evaluation."""
        if rule not in RELU_RULES:
            raise ValueError("unknown ReLU rule %r" % rule)
        ev = Evaluation()
        for layer in self.order:
            if layer.class_name == "InputLayer":
                ev.outputs[layer.name] = x
                continue
            inputs = [ev.outputs[name] for name in layer.inbound]
            out, pre = self._evaluate_layer(layer, inputs, rule)
            ev.outputs[layer.name] = out
            if pre is not None:
                ev.pre_activation[layer.name] = pre
        return ev

    def ends_in_softmax(self):
        last = self.by_name[self.output_name]
        if last.class_name == "Softmax":
            return True
        return last.class_name in ("Activation", "Dense", "Conv2D") and \
            last.config.get("activation") == "softmax"

    def logits_of(self, ev):
        if self.ends_in_softmax():
            return ev.pre_activation[self.output_name]
        return ev.outputs[self.output_name]

    def run(self, inputs, targets=None, rule="standard", layer=None):
        """inputs: float32 numpy NHWC.  targets: one class per image or None
        (then no gradient).  Returns a dict of numpy float32 arrays: output,
        logits, probs, and with targets: input_grad; with a layer: layer_act
        and layer_grad (d sum_b logits[b, target_b] / d layer output)."""
        x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)).to(self.dtype)
        x.requires_grad_(targets is not None)
        ev = self.forward(x, rule)
        logits = self.logits_of(ev)
        result = {"output": ev.outputs[self.output_name], "logits": logits,
                  "probs": torch.softmax(logits, dim=-1)}
        if layer is not None:
            if layer not in ev.outputs:
                raise ModelError("no layer named '%s'" % layer)
            result["layer_act"] = ev.outputs[layer]
        if targets is not None:
            result.update(self._gradients(x, logits, targets, ev, layer))
        return {k: v.detach().numpy().astype(np.float32) for k, v in result.items()}

    def _gradients(self, x, logits, targets, ev, layer):
        targets = torch.as_tensor(np.asarray(targets, dtype=np.int64))
        if logits.dim() != 2 or targets.shape != (logits.shape[0],):
            raise ModelError("logits of shape %s do not fit targets %s"
                             % (tuple(logits.shape), tuple(targets.shape)))
        score = logits.gather(1, targets[:, None]).sum()
        wrt = [x] + ([ev.outputs[layer]] if layer is not None else [])
        grads = torch.autograd.grad(score, wrt, allow_unused=True)
        grads = [torch.zeros_like(w) if g is None else g for w, g in zip(wrt, grads)]
        out = {"input_grad": grads[0]}
        if layer is not None:
            out["layer_grad"] = grads[1]
        return out


# ---------------------------------------------------------------- photos

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def load_photo_rgb(path):
    """Decoded RGB pixels as float64 HxWx3 in [0, 255]."""
    from PIL import Image
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float64)


def round_half_away(value):
    return int(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)


def cover_size(width, height, size=224):
    scale = max(size / width, size / height)
    return (max(size, round_half_away(width * scale)),
            max(size, round_half_away(height * scale)))


def resize_crop(rgb, size=224):
    """Antialiased bilinear resize so the image covers size x size (aspect
    kept), then the centre crop.  rgb: HxWx3 float; returns float64."""
    height, width = rgb.shape[:2]
    rw, rh = cover_size(width, height, size)
    t = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float64)).permute(2, 0, 1)[None]
    resized = F.interpolate(t, size=(rh, rw), mode="bilinear", align_corners=False, antialias=True)
    ox, oy = (rw - size) // 2, (rh - size) // 2
    return resized[0, :, oy:oy + size, ox:ox + size].permute(1, 2, 0).numpy()


def preprocess(rgb, preset):
    """Model input from RGB pixels in [0, 255] (float64)."""
    if preset == "caffe":
        return rgb[..., ::-1] - np.array(CAFFE_MEAN_BGR)
    if preset == "tf":
        return rgb / 127.5 - 1.0
    if preset == "torch":
        return (rgb / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    if preset == "none":
        return rgb
    raise ValueError("unknown preprocessing %r" % preset)


def gradient_to_rgb(grad, preset):
    """Gradient w.r.t. the model input -> the photo's RGB channel order."""
    return grad[..., ::-1] if preset == "caffe" else grad


def photo_input(path, preset="caffe", size=224):
    return preprocess(resize_crop(load_photo_rgb(path), size), preset)


# ------------------------------------------------------------- self-test

def _naive_pool(x, k, s, pads, kind):
    """x: HxW, pads (top, left); windows over valid cells only."""
    h, w = x.shape
    oh = (h + pads[0] + pads[2] - k) // s + 1
    ow = (w + pads[1] + pads[3] - k) // s + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            cells = [x[r, c] for r in range(i * s - pads[0], i * s - pads[0] + k)
                     for c in range(j * s - pads[1], j * s - pads[1] + k) if 0 <= r < h and 0 <= c < w]
            out[i, j] = max(cells) if kind == "max" else sum(cells) / len(cells)
    return out


def _naive_depthwise(x, kernel, stride, dilation, pads):
    """x: HxWxC, kernel kh,kw,C,M; output channel c*M+m."""
    h, w, c = x.shape
    kh, kw, _, m = kernel.shape
    xp = np.pad(x, ((pads[0], pads[1]), (pads[2], pads[3]), (0, 0)))
    oh = (xp.shape[0] - (kh - 1) * dilation - 1) // stride + 1
    ow = (xp.shape[1] - (kw - 1) * dilation - 1) // stride + 1
    out = np.zeros((oh, ow, c * m))
    for i in range(oh):
        for j in range(ow):
            for ch in range(c):
                for mm in range(m):
                    acc = 0.0
                    for a in range(kh):
                        for b in range(kw):
                            acc += xp[i * stride + a * dilation, j * stride + b * dilation, ch] * kernel[a, b, ch, mm]
                    out[i, j, ch * m + mm] = acc
    return out


def self_test():
    """Checks the padding and channel-order logic against naive loops."""
    rng = np.random.default_rng(0)
    model = TfjsModel.__new__(TfjsModel)
    failures = 0
    for kind, cls in (("max", "MaxPooling2D"), ("avg", "AveragePooling2D")):
        for (h, w, k, s, padding) in ((7, 9, 3, 2, "same"), (8, 5, 2, 2, "same"), (9, 9, 3, 2, "valid"),
                                      (5, 6, 3, 1, "same")):
            x = rng.standard_normal((1, h, w, 1))
            layer = Layer({"name": "p", "class_name": cls,
                           "config": {"pool_size": [k, k], "strides": [s, s], "padding": padding}}, [])
            got = model._pool(layer, torch.from_numpy(x), "standard")[0].numpy()[0, :, :, 0]
            if padding == "same":
                top, bottom = same_padding(h, k, s)
                left, right = same_padding(w, k, s)
            else:
                top = bottom = left = right = 0
            want = _naive_pool(x[0, :, :, 0], k, s, (top, left, bottom, right), kind)
            ok = got.shape == want.shape and np.allclose(got, want)
            failures += not ok
            print("%s pool %dx%d k%d s%d %s: %s" % (kind, h, w, k, s, padding, "ok" if ok else "FAIL"))
    for stride, dilation, padding in ((1, 2, "same"), (2, 1, "same"), (1, 1, "valid")):
        x = rng.standard_normal((1, 7, 8, 3))
        kernel = rng.standard_normal((3, 3, 3, 2))
        cfg = {"strides": stride, "dilation_rate": dilation, "padding": padding}
        got = conv_nhwc(torch.from_numpy(x), depthwise_kernel_torch(torch.from_numpy(kernel)), None, cfg,
                        groups=3).numpy()[0]
        if padding == "same":
            pads = same_padding(7, 3, stride, dilation) + same_padding(8, 3, stride, dilation)
        else:
            pads = (0, 0, 0, 0)
        want = _naive_depthwise(x[0], kernel, stride, dilation, pads)
        ok = got.shape == want.shape and np.allclose(got, want)
        failures += not ok
        print("depthwise s%d d%d %s: %s" % (stride, dilation, padding, "ok" if ok else "FAIL"))
    for rule, want in (("standard", [0, 0, -1, 0]), ("guided", [0, 0, 0, 0]), ("deconvnet", [2, 5, 0, 0])):
        x = torch.tensor([-1.0, 7.0, 3.0, 2.0], dtype=torch.float64, requires_grad=True)
        y = ClippedRelu.apply(x, 6.0, rule)
        (g,) = torch.autograd.grad((y * torch.tensor([2.0, 5.0, -1.0, 0.0], dtype=torch.float64)).sum(), x)
        ok = g.tolist() == [float(v) for v in want]
        failures += not ok
        print("relu6 %s backward: %s" % (rule, "ok" if ok else "FAIL %s" % g.tolist()))
    print("self-test: %s" % ("all ok" if not failures else "%d FAILED" % failures))
    return 1 if failures else 0


# ------------------------------------------------------------------- CLI

def load_labels(path):
    """labels.json as a list: either a JSON list or {"0": name, ...}."""
    with open(path) as f:
        labels = json.load(f)
    if isinstance(labels, dict):
        return [labels[str(i)] for i in range(len(labels))]
    return labels


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", nargs="?", help="model.json of a TF.js layers model")
    parser.add_argument("--image", help="photo to classify")
    parser.add_argument("--npy", help="NHWC float32 input instead of a photo")
    parser.add_argument("--preprocess", default="caffe", choices=("caffe", "tf", "torch", "none"))
    parser.add_argument("--labels", help="labels.json (a list of names) for the output")
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--self-test", action="store_true", help="check the reference's own helpers")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    if not args.model or not (args.image or args.npy):
        parser.error("give a model and --image or --npy")
    model = TfjsModel(args.model)
    batch = np.load(args.npy) if args.npy else photo_input(args.image, args.preprocess)[None]
    probs = model.run(batch.astype(np.float32))["probs"]
    labels = load_labels(args.labels) if args.labels else None
    for b, row in enumerate(probs):
        best = np.argsort(-row)[:args.top]
        print(json.dumps([{"index": int(i), "label": labels[i] if labels else str(i), "score": float(row[i])}
                          for i in best]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
