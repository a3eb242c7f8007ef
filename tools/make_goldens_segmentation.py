#!/usr/bin/python3
"""make_goldens_segmentation.py - goldens for tests/c/test_masks.c.

Writes tests/goldens/segmentation/:
  <photo>_<n>.png       a square centre crop of skimage's sample photo, resized
                        to n x n (the input the C test loads: exact 8-bit pixels)
  <photo>_<n>_<setting>.png
                        8-bit grey PNG of the labels (all < 256) that
                        skimage.segmentation.felzenszwalb gives that photo for
                        each setting in SETTINGS (PNG keeps them exact and small)
  blur_input.npy        (11, 9, 3) float32 random image
  blur_<sigma>.npy      scipy.ndimage.gaussian_filter(blur_input, [s, s, 0],
                        mode="reflect") in float32, as scipy computes it

and, for tests/c/test_methods_paths.c, reference runs of the path methods
(numpy re-statements of PAIR's saliency/core/blur_ig.py and guided_ig.py) on
the analytic function F(x) = sum_i w_i x_i^2 + (sum_i v_i x_i)^2 / 2, whose
gradient 2 w_i x_i + v_i sum_j v_j x_j the C test also evaluates (at float32
points, rounded to float32, as here):
  blurig_input.npy      (9, 8, 3) float32 image x
  blurig_weights.npy    (2, 216): w and v
  blurig_attr.npy       (9, 8, 3) Blur IG, steps 12, max_sigma 5, reflect blur
  blurig_scores.npy     (2,): F(x), F(blur of x with sigma 5)
  gig_input.npy         (2, 7, 5, 2): x and the baseline x'
  gig_weights.npy       (2, 70): w and v
  gig_<case>.npy        (7, 5, 2) Guided IG for each case of GUIDED_CASES
  xrai_chelsea_128_rank.png
                        8-bit grey PNG: XRAI region ranks (PAIR's xrai.py
                        "full" algorithm restated: Felzenszwalb segments at 6
                        scales of the photo scaled to [-1, 1], dilated by
                        disk(5), greedy by gain, ranks by gain) of
                        chelsea_128.png for the attribution
                        a(p) = max_c s(p) (x_c(p) - 127.5): XRAI's mean of the
                        exact IG of F(x) = sum s(p) x_c(p) with a black (0)
                        and a white (255) baseline, largest channel kept
                        (PAIR's _attr_aggregation_max); s in xrai_weight()

The felzenszwalb input is built in float32 exactly as the C test builds it
(same operations, each correctly rounded), then given to skimage as float64,
so both sides segment the very same numbers.

Run with the Debian python (skimage 0.19, scipy):
  /usr/bin/python3 tools/make_goldens_segmentation.py
"""

import math
import os

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import dilation, disk
from skimage.segmentation import felzenszwalb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "goldens", "segmentation")
SKIMAGE_DATA = "/usr/lib/python3/dist-packages/skimage/data"
PHOTOS = ["chelsea", "coffee", "astronaut"]
SIZES = [64, 128]
BLUR_SIGMAS = [0.5, 0.8, 3.0, 20.0]
SEED = 20240612
BLUR_IG = {"steps": 12, "max_sigma": 5.0}
SIGMA_STEP = 0.01  # PAIR's grad_step
# name -> (steps, fraction, max_dist)
GUIDED_CASES = {"a": (16, 0.25, 0.02), "b": (10, 0.1, 0.5), "c": (25, 0.5, 1.0)}

# name -> (value range, scale, sigma, min_size).  "unit": pixels / 255 with
# skimage's documented example parameters; "xrai*": the photo scaled to
# [-1, 1] as XRAI segments it (sigma 0.8, min_size 150).
SETTINGS = {
    "unit": ("unit", 100.0, 0.5, 50),
    "xrai100": ("signed", 100.0, 0.8, 150),
    "xrai500": ("signed", 500.0, 0.8, 150),
}


def square_photo(name, size):
    image = Image.open(os.path.join(SKIMAGE_DATA, name + ".png")).convert("RGB")
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)


def scaled_input(pixels, value_range):
    """float32, the same correctly rounded operations as test_masks.c."""
    v = pixels.astype(np.float32)
    if value_range == "unit":
        return v / np.float32(255)
    lo, hi = v.min(), v.max()
    t = (v - lo) / (hi - lo)
    return (t + t) - np.float32(1)


def write_felzenszwalb_goldens():
    for name in PHOTOS:
        for size in SIZES:
            photo = square_photo(name, size)
            stem = "%s_%d" % (name, size)
            photo.save(os.path.join(OUT, stem + ".png"), optimize=True)
            pixels = np.asarray(photo)
            for setting, (value_range, scale, sigma, min_size) in SETTINGS.items():
                image = scaled_input(pixels, value_range).astype(np.float64)
                labels = felzenszwalb(image, scale=scale, sigma=sigma, min_size=min_size)
                assert labels.max() < 256
                Image.fromarray(labels.astype(np.uint8), mode="L").save(
                    os.path.join(OUT, "%s_%s.png" % (stem, setting)), optimize=True)
                print("%s %s: %d segments" % (stem, setting, labels.max() + 1))


def write_blur_goldens():
    rng = np.random.default_rng(SEED)
    image = (rng.random((11, 9, 3)) * 255).astype(np.float32)
    np.save(os.path.join(OUT, "blur_input.npy"), image)
    for sigma in BLUR_SIGMAS:
        blurred = ndimage.gaussian_filter(image, sigma=[sigma, sigma, 0], mode="reflect", truncate=4.0)
        assert blurred.dtype == np.float32
        np.save(os.path.join(OUT, "blur_%g.npy" % sigma), blurred)


# ------------------------------------------------------ path methods

def analytic_score(x, w, v):
    x = x.astype(np.float32).astype(np.float64).ravel()
    return float(np.sum(w * x * x) + 0.5 * np.dot(v, x) ** 2)


def analytic_gradient(x, w, v):
    """At the float32 point, rounded to float32: what the C sal_fn returns."""
    flat = x.astype(np.float32).astype(np.float64).ravel()
    grad = 2 * w * flat + v * np.dot(v, flat)
    return grad.astype(np.float32).astype(np.float64).reshape(x.shape)


def reflect_blur(image, sigma):
    if sigma == 0:
        return image.copy()
    return ndimage.gaussian_filter(image, sigma=[sigma, sigma, 0], mode="reflect", truncate=4.0)


def blur_ig_reference(x, w, v, steps, max_sigma):
    """Left Riemann sum over sigma of -dF/dx . dx/dsigma (finite difference)."""
    sigmas = [k * max_sigma / steps for k in range(steps + 1)]
    total = np.zeros(x.shape, dtype=np.float64)
    for k in range(steps):
        point = reflect_blur(x, sigmas[k])
        ahead = reflect_blur(x, sigmas[k] + SIGMA_STEP)
        slope = ((ahead.astype(np.float64) - point) / SIGMA_STEP).astype(np.float32)
        total -= (sigmas[k + 1] - sigmas[k]) * slope.astype(np.float64) * analytic_gradient(point, w, v)
    return total


def guided_ig_reference(x, baseline, w, v, steps, fraction, max_dist):
    """Guided IG as stated in PAIR's guided_ig.py, in float64."""
    x = x.astype(np.float64)
    baseline = baseline.astype(np.float64)
    span = x - baseline
    point = baseline.copy()
    attr = np.zeros_like(x)
    l1_total = np.abs(span).sum()
    for step in range(steps):
        grad = analytic_gradient(point, w, v)
        keys = np.abs(grad)
        alpha = (step + 1.0) / steps
        lo, hi = max(alpha - max_dist, 0.0), min(alpha + max_dist, 1.0)
        lower, upper = baseline + span * lo, baseline + span * hi
        target = l1_total * (1 - (step + 1) / steps)
        while True:
            before = point.copy()
            with np.errstate(divide="ignore", invalid="ignore"):
                progress = np.where(span != 0, (point - baseline) / span, hi)
            point[progress < lo] = lower[progress < lo]
            now = np.abs(point - x).sum()
            if math.isclose(target, now, rel_tol=1e-9, abs_tol=1e-9):
                attr += (point - before) * grad
                break
            keys[point == upper] = np.inf
            threshold = np.quantile(keys, fraction, method="lower")
            chosen = (keys <= threshold) & (keys != np.inf)
            reachable = (np.abs(point - upper) * chosen).sum()
            gamma = (now - target) / reachable if reachable > 0 else np.inf
            if gamma > 1:
                point[chosen] = upper[chosen]
            else:
                point[chosen] = (point + (upper - point) * gamma)[chosen]
            attr += (point - before) * grad
            if gamma <= 1:
                break
    return attr


def write_path_goldens():
    rng = np.random.default_rng(SEED + 1)
    x = (rng.random((9, 8, 3)) * 255).astype(np.float32)
    w = rng.uniform(-1e-3, 1e-3, x.size)
    v = rng.uniform(-1e-2, 1e-2, x.size)
    np.save(os.path.join(OUT, "blurig_input.npy"), x)
    np.save(os.path.join(OUT, "blurig_weights.npy"), np.stack([w, v]))
    attr = blur_ig_reference(x, w, v, BLUR_IG["steps"], BLUR_IG["max_sigma"])
    np.save(os.path.join(OUT, "blurig_attr.npy"), attr.astype(np.float32))
    blurred = reflect_blur(x, BLUR_IG["max_sigma"])
    scores = np.array([analytic_score(x, w, v), analytic_score(blurred, w, v)])
    np.save(os.path.join(OUT, "blurig_scores.npy"), scores)
    print("blur IG: sum %.6g, F(x) - F(x') %.6g" % (attr.sum(), scores[0] - scores[1]))

    pair = (rng.random((2, 7, 5, 2)) * 255).astype(np.float32)
    w = rng.uniform(-1e-3, 1e-3, pair[0].size)
    v = rng.uniform(-1e-2, 1e-2, pair[0].size)
    np.save(os.path.join(OUT, "gig_input.npy"), pair)
    np.save(os.path.join(OUT, "gig_weights.npy"), np.stack([w, v]))
    for name, (steps, fraction, max_dist) in GUIDED_CASES.items():
        attr = guided_ig_reference(pair[0], pair[1], w, v, steps, fraction, max_dist)
        np.save(os.path.join(OUT, "gig_%s.npy" % name), attr.astype(np.float32))
        difference = analytic_score(pair[0], w, v) - analytic_score(pair[1], w, v)
        print("guided IG %s: sum %.6g, F(x) - F(x') %.6g" % (name, attr.sum(), difference))


# ---------------------------------------------------------------- XRAI

XRAI_SCALES = [50, 100, 150, 250, 500, 1200]
XRAI_MIN_PIXEL_DIFF = 50


def xrai_weight(height, width):
    """s(y, x): a smooth signed weight map (the C test uses the same formula)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    return np.cos(0.11 * y) * np.sin(0.07 * x + 0.5) + 0.3 * np.cos(0.05 * (x + y))


def xrai_segments(pixels):
    v = pixels.astype(np.float32)
    lo, hi = v.min(), v.max()
    image = ((v - lo) / (hi - lo) * np.float32(2) - np.float32(1)).astype(np.float64)
    masks = []
    for scale in XRAI_SCALES:
        labels = felzenszwalb(image, scale=scale, sigma=0.8, min_size=150)
        for label in range(labels.max() + 1):
            masks.append(dilation(labels == label, disk(5)))
    return masks


def xrai_ranks(attr, masks):
    """Greedy ranking by attribution density, area threshold 1."""
    covered = np.zeros(attr.shape, dtype=bool)
    remaining = list(range(len(masks)))
    trace = []
    while covered.mean() <= 1.0:
        best, best_gain, kept = None, -np.inf, []
        for index in remaining:
            new = masks[index] & ~covered
            if new.sum() < XRAI_MIN_PIXEL_DIFF:
                continue
            kept.append(index)
            gain = attr[new].mean()
            if gain > best_gain:
                best, best_gain = index, gain
        remaining = kept
        if best is None:
            break
        trace.append((masks[best] & ~covered, best_gain))
        covered |= masks[best]
        remaining.remove(best)
    ordered = [mask for mask, _ in sorted(trace, key=lambda t: -t[1])]
    if not covered.all():
        ordered.append(~covered)
    ranks = np.full(attr.shape, -1, dtype=np.int64)
    for rank, mask in enumerate(ordered):
        ranks[mask] = rank
    return ranks


def write_xrai_golden():
    pixels = np.asarray(Image.open(os.path.join(OUT, "chelsea_128.png")).convert("RGB"))
    weight = xrai_weight(*pixels.shape[:2])[:, :, None]
    x = pixels.astype(np.float64)
    ig_black, ig_white = weight * (x - 0.0), weight * (x - 255.0)
    attr = np.mean([ig_black, ig_white], axis=0).max(axis=2)
    ranks = xrai_ranks(attr, xrai_segments(pixels))
    assert ranks.min() >= 0 and ranks.max() < 256
    Image.fromarray(ranks.astype(np.uint8), mode="L").save(
        os.path.join(OUT, "xrai_chelsea_128_rank.png"), optimize=True)
    print("xrai chelsea_128: %d regions" % (ranks.max() + 1))


def main():
    os.makedirs(OUT, exist_ok=True)
    write_blur_goldens()
    write_felzenszwalb_goldens()
    write_path_goldens()
    write_xrai_golden()


if __name__ == "__main__":
    main()
