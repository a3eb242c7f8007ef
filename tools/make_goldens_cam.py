#!/usr/bin/python3
"""make_goldens_cam.py - goldens for Grad-CAM and Occlusion (tests/c/test_methods_cam.c).

Everything is computed by the float64 PyTorch reference (tools/tfjs_reference.py)
with the methods written out here as the papers state them, independently
of the C code:

  Grad-CAM (Selvaraju et al. 2017), for a layer output A (h x w x K) and
  G = d logit_target / dA (autograd):
      alpha_k = mean_ij G_ijk,   low = ReLU(sum_k alpha_k A_k)   (h x w)
      up = torch.nn.functional.interpolate(low, (H, W), mode="bilinear",
                                           align_corners=False)
  Occlusion (Zeiler & Fergus 2014), by naive loops over the windows:
      window rows/columns start at 0, 0 + stride, ... and a last one flush
      with the bottom/right edge when the stride does not land there;
      d = F(x) - F(x with the window set to patch[c] in channel c);
      map[p] = mean of d over the windows covering p (0 where none does).

Files (tests/goldens/methods/cam/):
  <model>/gradcam_low.npy  (N, h, w)  for each image of the model's golden
                           input with its golden target
  <model>/gradcam_up.npy   (N, H, W)
  <model>/gradcam_layer.txt
      for the small CNNs in tests/goldens/models (model.json, input.npy and
      targets.npy are read from there).
  <model>/occlusion_w<W>_s<S>.npy  (H, W): image 0, target targets[0],
      patch[c] = 0.3 * c - 0.4.
  resnet50_pattern/ (ResNet50 from the asset cache, the synthetic pattern
      image of tools/make_goldens.py, caffe preprocessing, top-1 class):
      target.npy (1,) int32, gradcam_low.npy (7, 7) at activation_48,
      gradcam_up_block8.npy (28, 28): the 224x224 up map averaged over 8x8
      blocks, occlusion_w64_s48_block8.npy (28, 28): occlusion with window
      64, stride 48, patch = a black pixel after preprocessing, averaged over
      8x8 blocks (every window edge is a multiple of 16, so nothing is lost).

It also prints how far the same computation in float32 (the reference with
dtype=torch.float32) lands from float64: the scale of rounding error the C
library, which works in float32, can be expected to show.

Run with the Debian python (about 2 minutes):
  /usr/bin/python3 tools/make_goldens_cam.py
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_goldens  # noqa: E402  (pattern_image)
import tfjs_reference as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "tests", "goldens", "models")
OUT = os.path.join(ROOT, "tests", "goldens", "methods", "cam")

# (model, layer) for Grad-CAM: scales 5x5 -> 12x12, 5x5 -> 17x19, 8x7 -> 15x13.
GRAD_CAM_MODELS = (("seq_small", "conv_2"), ("resnet_block", "shortcut"), ("mobile_se", "se_mul"))
# (model, window, stride): overlapping windows landing on the edge, a flush
# last window (both axes, odd sizes), and a stride larger than the window
# (pixels no window covers).
OCCLUSION_CASES = (("seq_small", 4, 2), ("resnet_block", 6, 4), ("seq_small", 3, 5))
RESNET_LAYER = "activation_48"
RESNET_WINDOW, RESNET_STRIDE = 64, 48
BLOCK = 8


def small_patch(channels):
    return np.array([0.3 * c - 0.4 for c in range(channels)])


# --------------------------------------------------------------- Grad-CAM

def grad_cam(model, image, target, layer):
    """image: (H, W, C) array.  Returns (low, up) float64 numpy arrays."""
    x = torch.from_numpy(np.ascontiguousarray(image[None], dtype=np.float32)).to(model.dtype)
    x.requires_grad_(True)
    ev = model.forward(x)
    score = model.logits_of(ev)[0, target]
    activation = ev.outputs[layer]
    if activation.dim() != 4:
        raise ValueError("layer %s is not 4-D" % layer)
    (gradient,) = torch.autograd.grad(score, activation)
    alpha = gradient.mean(dim=(1, 2))                                  # (1, K)
    low = torch.relu((activation * alpha[:, None, None, :]).sum(dim=-1))  # (1, h, w)
    up = F.interpolate(low[:, None], size=tuple(image.shape[:2]), mode="bilinear", align_corners=False)
    return low[0].detach().numpy().astype(np.float64), up[0, 0].detach().numpy().astype(np.float64)


# -------------------------------------------------------------- Occlusion

def window_starts(size, window, stride):
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] + window != size:
        starts.append(size - window)
    return starts


def scores(model, images, target, chunk):
    """Logit `target` of each image (N, H, W, C), `chunk` images at a time."""
    out = []
    with torch.no_grad():
        for i in range(0, len(images), chunk):
            x = torch.from_numpy(np.ascontiguousarray(images[i:i + chunk], dtype=np.float32)).to(model.dtype)
            out.extend(model.logits_of(model.forward(x))[:, target].tolist())
    return np.array(out, dtype=np.float64)


def occlusion(model, image, target, patch, window, stride, chunk=16):
    height, width, _ = image.shape
    corners = [(y, x) for y in window_starts(height, window, stride) for x in window_starts(width, window, stride)]
    occluded = np.repeat(image[None].astype(np.float32), len(corners), axis=0)
    for i, (y, x) in enumerate(corners):
        occluded[i, y:y + window, x:x + window, :] = patch
    base = scores(model, image[None], target, 1)[0]
    differences = base - scores(model, occluded, target, chunk)
    total = np.zeros((height, width))
    count = np.zeros((height, width))
    for (y, x), d in zip(corners, differences):
        total[y:y + window, x:x + window] += d
        count[y:y + window, x:x + window] += 1
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


# --------------------------------------------------------------- writing

def save(folder, name, array, dtype=np.float32):
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, name), np.asarray(array).astype(dtype))


def relative_deviation(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def block_average(a, block):
    h, w = a.shape
    return a.reshape(h // block, block, w // block, block).mean(axis=(1, 3))


def small_model(name, dtype=torch.float64):
    folder = os.path.join(MODELS, name)
    model = ref.TfjsModel(os.path.join(folder, "model.json"), dtype=dtype)
    return model, np.load(os.path.join(folder, "input.npy")), np.load(os.path.join(folder, "targets.npy"))


def make_small_grad_cam():
    for name, layer in GRAD_CAM_MODELS:
        model, inputs, targets = small_model(name)
        model32 = small_model(name, torch.float32)[0]
        lows, ups = [], []
        for image, target in zip(inputs, targets):
            low, up = grad_cam(model, image, int(target), layer)
            low32, up32 = grad_cam(model32, image, int(target), layer)
            lows.append(low)
            ups.append(up)
            print("%s grad-cam %s target %d: low %s max %.4g, float32 deviation / max: low %.2g up %.2g"
                  % (name, layer, target, low.shape, low.max(), relative_deviation(low32, low),
                     relative_deviation(up32, up)))
        if min(low.max() for low in lows) <= 0:
            raise AssertionError("%s: a Grad-CAM map is all zero; the golden would test little" % name)
        folder = os.path.join(OUT, name)
        save(folder, "gradcam_low.npy", np.stack(lows))
        save(folder, "gradcam_up.npy", np.stack(ups))
        with open(os.path.join(folder, "gradcam_layer.txt"), "w") as f:
            f.write(layer + "\n")


def make_small_occlusion():
    for name, window, stride in OCCLUSION_CASES:
        model, inputs, targets = small_model(name)
        model32 = small_model(name, torch.float32)[0]
        patch = small_patch(inputs.shape[-1])
        result = occlusion(model, inputs[0], int(targets[0]), patch, window, stride)
        result32 = occlusion(model32, inputs[0], int(targets[0]), patch, window, stride)
        print("%s occlusion w%d s%d: max|map| %.4g, float32 deviation / max %.2g"
              % (name, window, stride, np.abs(result).max(), relative_deviation(result32, result)))
        save(os.path.join(OUT, name), "occlusion_w%d_s%d.npy" % (window, stride), result)


def make_resnet():
    path = os.path.join(ref.assets_dir(), "resnet50", "model.json")
    model = ref.TfjsModel(path)
    model32 = ref.TfjsModel(path, dtype=torch.float32)
    image = ref.preprocess(make_goldens.pattern_image(), "caffe")
    with torch.no_grad():
        logits = model.logits_of(model.forward(torch.from_numpy(image[None].astype(np.float32)).to(model.dtype)))
    target = int(torch.argmax(logits[0]))
    folder = os.path.join(OUT, "resnet50_pattern")
    save(folder, "target.npy", [target], np.int32)

    low, up = grad_cam(model, image, target, RESNET_LAYER)
    low32, up32 = grad_cam(model32, image, target, RESNET_LAYER)
    print("resnet50 grad-cam target %d: low max %.4g, float32 deviation / max: low %.2g up %.2g"
          % (target, low.max(), relative_deviation(low32, low), relative_deviation(up32, up)))
    save(folder, "gradcam_low.npy", low)
    save(folder, "gradcam_up_block8.npy", block_average(up, BLOCK))

    patch = ref.preprocess(np.zeros((1, 1, 3)), "caffe")[0, 0]
    result = occlusion(model, image, target, patch, RESNET_WINDOW, RESNET_STRIDE, chunk=4)
    result32 = occlusion(model32, image, target, patch, RESNET_WINDOW, RESNET_STRIDE, chunk=4)
    print("resnet50 occlusion w%d s%d: max|map| %.4g, float32 deviation / max %.2g"
          % (RESNET_WINDOW, RESNET_STRIDE, np.abs(result).max(), relative_deviation(result32, result)))
    save(folder, "occlusion_w%d_s%d_block8.npy" % (RESNET_WINDOW, RESNET_STRIDE), block_average(result, BLOCK))


def main():
    make_small_grad_cam()
    make_small_occlusion()
    make_resnet()
    return 0


if __name__ == "__main__":
    sys.exit(main())
