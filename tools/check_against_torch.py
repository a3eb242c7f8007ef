#!/usr/bin/python3
"""check_against_torch.py - the native CLI against the PyTorch reference on
photos the tests do not use.

For each photo it runs
  saliency classify --model M --image PHOTO --preprocess caffe --top 5
  saliency explain  --model M --image PHOTO --method vanilla --preprocess caffe --npy OUT.npy
and the reference (tools/tfjs_reference.py) on the same photo, and prints
top-1 agreement, the largest difference among the reference's top-5
probabilities, and the cosine similarity of the full-resolution (224x224x3,
RGB order) gradients.  JPEG photos decode slightly differently (stb_image in
the library, libjpeg-turbo here); PNG photos decode identically, so their
numbers measure the resize and the network alone.

  /usr/bin/python3 tools/check_against_torch.py [--cli build/saliency]
      [--model .cache/assets/resnet50/model.json] [PHOTO ...]
Without photos: chelsea.png, astronaut.png and coffee.png from the asset
cache ($SAL_CACHE_DIR, default .cache; so is the default model).
Exit status 1 if some photo disagrees: top-1 differs, probabilities differ
by more than 0.01, or the cosine is below 0.99 (0.95 for JPEG, where the
decoders' few-level pixel differences flip some ReLU masks).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tfjs_reference as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PHOTOS = ["chelsea.png", "astronaut.png", "coffee.png"]
MAX_PROB_DIFF = 0.01
MIN_COSINE = 0.99
MIN_COSINE_JPEG = 0.95


def run_cli(args):
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(args), done.returncode, done.stderr.strip()))
    return done.stdout


def cli_results(cli, model, photo, npy_path):
    common = ["--model", model, "--image", photo, "--preprocess", "caffe"]
    ranking = json.loads(run_cli([cli, "classify"] + common + ["--top", "5"]))
    run_cli([cli, "explain"] + common + ["--method", "vanilla", "--npy", npy_path])
    grad = np.load(npy_path)
    if grad.shape != (224, 224, 3):
        raise RuntimeError("the CLI's gradient has shape %s, expected (224, 224, 3)" % (grad.shape,))
    return ranking, grad.astype(np.float64)


def reference_results(model, photo):
    x = ref.photo_input(photo, "caffe")[None].astype(np.float32)
    probs = model.run(x)["probs"][0]
    top1 = int(np.argmax(probs))
    grad = model.run(x, targets=[top1])["input_grad"][0].astype(np.float64)
    return probs, ref.gradient_to_rgb(grad, "caffe")


def cosine(a, b):
    a, b = a.ravel(), b.ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def compare(cli, model_path, model, photo, npy_path):
    ranking, cli_grad = cli_results(cli, model_path, photo, npy_path)
    probs, ref_grad = reference_results(model, photo)
    ref_top5 = np.argsort(-probs)[:5]
    cli_scores = {entry["index"]: entry["score"] for entry in ranking}
    prob_diff = max(abs(cli_scores.get(int(i), 0.0) - probs[i]) for i in ref_top5)
    same_top1 = ranking[0]["index"] == int(ref_top5[0])
    cos = cosine(cli_grad, ref_grad)
    print("%-16s top-1 cli %4d (%s) ref %4d: %-5s  max prob diff %.2e  gradient cosine %.6f  "
          "|g| ratio %.4f" % (os.path.basename(photo), ranking[0]["index"], ranking[0].get("label"),
                              ref_top5[0], "same" if same_top1 else "DIFF", prob_diff, cos,
                              np.linalg.norm(cli_grad) / np.linalg.norm(ref_grad)))
    is_jpeg = photo.lower().endswith((".jpg", ".jpeg"))
    return same_top1 and prob_diff <= MAX_PROB_DIFF and cos >= (MIN_COSINE_JPEG if is_jpeg else MIN_COSINE)


def main(argv):
    parser = argparse.ArgumentParser(description="Compare the native CLI with the PyTorch reference.")
    parser.add_argument("photos", nargs="*")
    parser.add_argument("--cli", default=os.path.join(ROOT, "build", "saliency"))
    parser.add_argument("--model", default=os.path.join(ref.assets_dir(), "resnet50", "model.json"))
    args = parser.parse_args(argv)
    photos = args.photos or [os.path.join(ref.assets_dir(), "photos", p) for p in DEFAULT_PHOTOS]
    for path in [args.cli, args.model] + photos:
        if not os.path.exists(path):
            print("missing: %s" % path, file=sys.stderr)
            return 2
    model = ref.TfjsModel(args.model)
    all_ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for photo in photos:
            all_ok &= compare(args.cli, args.model, model, photo, os.path.join(tmp, "gradient.npy"))
    print("all photos agree" if all_ok else "SOME PHOTOS DISAGREE")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
