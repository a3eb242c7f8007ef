#!/usr/bin/env bash
# `npm run pictures`: set-up, build, then classify and explain every sample photo
# with the default model (Keras ResNet50, TF.js layers format).
#
#   SAL_CACHE_DIR   asset cache (default: <repo>/.cache)
#   SAL_BUILD_DIR   native build folder (default: build)
#   SAL_OUT_DIR     outputs (default: out)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SAL_CACHE_DIR=$(realpath -m "${SAL_CACHE_DIR:-$repo/.cache}")
export SAL_CACHE_DIR
build=$(realpath -m "${SAL_BUILD_DIR:-$repo/build}")
out=$(realpath -m "${SAL_OUT_DIR:-$repo/out}")
cd "$repo"

photos=(cat.jpg coffee.jpg chelsea.png coffee.png astronaut.png)
model=$SAL_CACHE_DIR/assets/resnet50/model.json

bash scripts/setup.sh

echo "== build ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSAL_ASSETS_DIR="$SAL_CACHE_DIR/assets"
cmake --build "$build" -j"$(nproc)"

mkdir -p "$out"
for photo in "${photos[@]}"; do
    # The file name keeps its extension: coffee.jpg and coffee.png both exist.
    image=$SAL_CACHE_DIR/assets/photos/$photo
    echo "== $photo: top 5 classes"
    "$build/saliency" classify --model "$model" --image "$image" --preprocess caffe --top 5 |
        tee "$out/$photo.top5.json"
    echo "== $photo: vanilla gradients"
    "$build/saliency" explain --model "$model" --image "$image" --method vanilla --preprocess caffe \
        --npy "$out/$photo.vanilla.npy" --png "$out/$photo.vanilla.png"
    echo "== $photo: Grad-CAM"
    "$build/saliency" explain --model "$model" --image "$image" --method grad-cam --preprocess caffe \
        --npy "$out/$photo.grad-cam.npy" --png "$out/$photo.grad-cam.png" --colormap jet --overlay --alpha 0.5
    echo "== $photo: Integrated Gradients (64 steps, black baseline)"
    "$build/saliency" explain --model "$model" --image "$image" --method integrated-gradients --steps 64 \
        --preprocess caffe --npy "$out/$photo.ig.npy" --png "$out/$photo.ig.png" --colormap inferno
done

echo
echo "Outputs in $out, for each photo:"
echo "  PHOTO.top5.json      the top 5 classes (JSON)"
echo "  PHOTO.vanilla.npy    vanilla gradients, H x W x 3 float32, RGB order"
echo "  PHOTO.vanilla.png    the same as a grayscale saliency map"
echo "  PHOTO.grad-cam.*     Grad-CAM on activation_48: H x W map, and a jet overlay on the photo"
echo "  PHOTO.ig.*           Integrated Gradients: H x W x 3 mask, and an inferno picture"
(cd "$out" && for photo in "${photos[@]}"; do ls -1 "$photo".*; done) | sed 's/^/  /'
