#!/usr/bin/python3
"""Writes the small goldens of the image, npy and visualization tests.

References come from other implementations than ours: PIL decodes the photos,
torch's antialiased bilinear interpolate resizes them (cross-checked against
PIL's float resize), NumPy computes PAIR saliency's grayscale visualization and
writes the .npy files.

    /usr/bin/python3 tools/make_image_goldens.py [--photos DIR]

Outputs (a few KB in all) go to tests/goldens/image/ and tests/goldens/npy/.
Large outputs are stored as a grid of samples: rows and columns
i * (n - 1) // (k - 1) for i < k, k = min(n, 15); tests/c/test_image.c uses
the same rule.
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tfjs_reference import assets_dir  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE_DIR = os.path.join(ROOT, "tests", "goldens", "image")
NPY_DIR = os.path.join(ROOT, "tests", "goldens", "npy")
GRID = 15


def sample_indices(n):
    k = min(n, GRID)
    return [i * (n - 1) // (k - 1) for i in range(k)] if k > 1 else [0]


def sample_grid(image):
    rows, cols = sample_indices(image.shape[0]), sample_indices(image.shape[1])
    return image[np.ix_(rows, cols)]


def round_half_away(x):
    whole = math.floor(x)
    return whole + 1 if x - whole >= 0.5 else whole


def covering_crop(in_w, in_h, width, height):
    """Resized size covering width x height, and the centre crop's offset."""
    scale = max(width / in_w, height / in_h)
    rw = max(width, round_half_away(in_w * scale))
    rh = max(height, round_half_away(in_h * scale))
    return rw, rh, (rw - width) // 2, (rh - height) // 2


def torch_resize_crop(pixels, width, height):
    """pixels: H x W x C float in [0, 255] -> height x width x C."""
    in_h, in_w = pixels.shape[:2]
    rw, rh, ox, oy = covering_crop(in_w, in_h, width, height)
    nchw = torch.from_numpy(pixels.astype(np.float32)).permute(2, 0, 1)[None]
    resized = F.interpolate(nchw.double(), size=(rh, rw), mode="bilinear",
                            align_corners=False, antialias=True)
    crop = resized[0, :, oy:oy + height, ox:ox + width].permute(1, 2, 0)
    return crop.numpy(), (rw, rh, ox, oy)


def pil_resize_crop(pixels, width, height):
    """The same with PIL's float ('F') resize, one channel at a time."""
    in_h, in_w = pixels.shape[:2]
    rw, rh, ox, oy = covering_crop(in_w, in_h, width, height)
    channels = []
    for c in range(pixels.shape[2]):
        plane = Image.fromarray(pixels[:, :, c].astype(np.float32), mode="F")
        resized = np.asarray(plane.resize((rw, rh), Image.BILINEAR))
        channels.append(resized[oy:oy + height, ox:ox + width])
    return np.stack(channels, axis=2)


def save(directory, name, array, dtype=np.float32):
    os.makedirs(directory, exist_ok=True)
    np.save(os.path.join(directory, name), np.ascontiguousarray(array, dtype=dtype))


def load_photo(photos, name):
    return np.asarray(Image.open(os.path.join(photos, name)).convert("RGB"), dtype=np.float32)


def resize_golden(name, pixels, width, height):
    expected, geometry = torch_resize_crop(pixels, width, height)
    cross = pil_resize_crop(pixels, width, height)
    gap = np.abs(cross - expected).max()
    assert gap < 1e-2, f"{name}: torch and PIL resizes differ by {gap}"
    save(IMAGE_DIR, name, sample_grid(expected))
    print(f"{name}: resized {geometry[:2]} crop at {geometry[2:]}, torch-PIL gap {gap:.2e}")


def make_resize_goldens(photos):
    rng = np.random.default_rng(7)
    small = rng.uniform(0, 255, size=(5, 7, 3)).astype(np.float32)
    tall = rng.uniform(0, 255, size=(9, 5, 3)).astype(np.float32)
    save(IMAGE_DIR, "small_input.npy", small)
    save(IMAGE_DIR, "tall_input.npy", tall)
    resize_golden("resize_small_16x12.npy", small, 16, 12)
    resize_golden("resize_tall_13x4.npy", tall, 13, 4)
    for photo, width, height in [("chelsea.png", 224, 224), ("coffee.png", 299, 299),
                                 ("astronaut.png", 224, 224), ("astronaut.png", 100, 60),
                                 ("cat.jpg", 224, 224), ("cat.jpg", 299, 299)]:
        stem = photo.replace(".", "_")
        resize_golden(f"resize_{stem}_{width}x{height}.npy", load_photo(photos, photo),
                      width, height)


def make_decode_goldens(photos):
    for photo in ["chelsea.png", "cat.jpg"]:
        pixels = load_photo(photos, photo)
        save(IMAGE_DIR, "decode_" + photo.replace(".", "_") + ".npy", sample_grid(pixels))


def pattern(width, height):
    """The pixel formula test_image.c checks the tiny files against."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([(37 * x + 11 * y + 5) % 256, (13 * x + 71 * y + 90) % 256,
                     (101 * x + 29 * y + 200) % 256, (17 * x + 53 * y + 1) % 256],
                    axis=2).astype(np.uint8)


def make_tiny_files():
    rgba = pattern(6, 4)
    Image.fromarray(rgba, "RGBA").save(os.path.join(IMAGE_DIR, "pattern_rgba.png"))
    Image.fromarray(rgba[:, :, 0], "L").save(os.path.join(IMAGE_DIR, "pattern_gray.png"))
    Image.fromarray(rgba[:, :, [0, 3]], "LA").save(os.path.join(IMAGE_DIR, "pattern_gray_alpha.png"))
    Image.fromarray(rgba[:, :, :3], "RGB").save(os.path.join(IMAGE_DIR, "pattern_rgb.bmp"))
    indexed = Image.new("P", (6, 4))
    indexed.putpalette(rgba[:, :, :3].reshape(-1).tolist())
    indexed.putdata(list(range(24)))
    indexed.save(os.path.join(IMAGE_DIR, "pattern_rgb.gif"))


def pair_grayscale(mask, percentile):
    """VisualizeImageGrayscale of PAIR saliency, except that a flat picture
    (vmax == vmin, where PAIR divides by zero) is all zeros."""
    image_2d = np.sum(np.abs(mask), axis=2)
    vmax = np.percentile(image_2d, percentile)
    vmin = np.min(image_2d)
    if vmax == vmin:
        return np.zeros_like(image_2d)
    return np.clip((image_2d - vmin) / (vmax - vmin), 0, 1)


PERCENTILES = [99.0, 50.0, 0.0, 100.0, 37.5]


def make_grayscale_goldens():
    rng = np.random.default_rng(11)
    masks = {"gray_random": rng.standard_normal((9, 7, 3)).astype(np.float32),
             "gray_ties": rng.integers(-3, 4, size=(8, 8, 2)).astype(np.float32)}
    for name, mask in masks.items():
        save(IMAGE_DIR, name + "_mask.npy", mask)
        outs = [pair_grayscale(mask, p) for p in PERCENTILES]
        save(IMAGE_DIR, name + "_out.npy", np.stack(outs))


def make_npy_goldens():
    """Tiny arrays whose values test_npy.c recomputes from i (flat index)."""
    i24, i6, i4 = np.arange(24), np.arange(6), np.arange(4)
    save(NPY_DIR, "f4_2x3x4.npy", (i24 * 0.25 - 3).reshape(2, 3, 4), np.float32)
    save(NPY_DIR, "f8_2x3.npy", (i6 * 0.1 - 1).reshape(2, 3), np.float64)
    save(NPY_DIR, "i4_6.npy", i6 * 1000 - 7, np.int32)
    save(NPY_DIR, "i8_2x2.npy", (i4 * 3 - 5 + (i4 == 3) * 2 ** 40).reshape(2, 2), np.int64)
    np.save(os.path.join(NPY_DIR, "f4_scalar.npy"), np.array(2.5, np.float32))
    with open(os.path.join(NPY_DIR, "f4_v2_3.npy"), "wb") as f:
        np.lib.format.write_array(f, np.array([1.5, -2.0, 3.25], np.float32), version=(2, 0))
    np.save(os.path.join(NPY_DIR, "f4_fortran_2x3.npy"),
            np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    np.save(os.path.join(NPY_DIR, "f4_big_endian_3.npy"), np.arange(3, dtype=">f4"))
    np.save(os.path.join(NPY_DIR, "u1_3.npy"), np.arange(3, dtype=np.uint8))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default=os.path.join(assets_dir(), "photos"),
                        help="the sample photos (default: the asset cache's photos/)")
    args = parser.parse_args()
    make_resize_goldens(args.photos)
    make_decode_goldens(args.photos)
    make_tiny_files()
    make_grayscale_goldens()
    make_npy_goldens()


if __name__ == "__main__":
    main()
