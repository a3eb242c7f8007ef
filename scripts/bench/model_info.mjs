// model_info.mjs - what the benchmark divides by, from a model.json's layer
// shapes (tfjs-layers builds the graph from the Keras config; no weights are
// read): multiply-adds of a forward pass, weight bytes, activation bytes.

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

const elements = (shape) => shape.reduce((product, d) => product * (d ?? 1), 1);

/* Multiply-adds of one layer for one image. */
function layerMacs(layer) {
  const cls = layer.getClassName();
  const out = layer.outputShape;
  const inShape = layer.inboundNodes[0]?.inputShapes;
  const input = Array.isArray(inShape?.[0]) ? inShape[0] : inShape;
  const spatial = (shape) => shape[1] * shape[2];
  switch (cls) {
    case 'Conv2D':
      return spatial(out) * out[3] * layer.kernelSize[0] * layer.kernelSize[1] * input[3];
    case 'DepthwiseConv2D':
      return spatial(out) * out[3] * layer.kernelSize[0] * layer.kernelSize[1];
    case 'SeparableConv2D':
      return spatial(out) * input[3] * layer.depthMultiplier * layer.kernelSize[0] * layer.kernelSize[1] +
        spatial(out) * out[3] * input[3] * layer.depthMultiplier;
    case 'Dense':
      return input[input.length - 1] * out[out.length - 1];
    default:
      return 0;
  }
}

export async function modelInfo(modelJson) {
  tf.env().set('PROD', true); /* no "install tfjs-node" banner */
  await tf.setBackend('cpu');
  const model = await tfl.models.modelFromJSON({ modelTopology: modelJson.modelTopology });
  let macs = 0, activationElements = 0, largestElements = 0;
  const byClass = {};
  for (const layer of model.layers) {
    const m = layerMacs(layer);
    macs += m;
    byClass[layer.getClassName()] = (byClass[layer.getClassName()] ?? 0) + m;
    if (layer.getClassName() === 'InputLayer') continue;
    const shapes = Array.isArray(layer.outputShape[0]) ? layer.outputShape : [layer.outputShape];
    for (const shape of shapes) {
      const n = elements(shape);
      activationElements += n;
      largestElements = Math.max(largestElements, n);
    }
  }
  const [, height, width, channels] = model.inputs[0].shape;
  const weightParams = modelJson.weightsManifest.flatMap((g) => g.weights).reduce((s, w) => s + elements(w.shape), 0);
  model.dispose();
  return {
    height, width, channels,
    forwardMacs: macs,
    macsByLayerClass: byClass,
    weightParams,
    weightBytes: 4 * weightParams,
    /* every layer's output for one image: what a forward pass produces */
    activationBytes: 4 * activationElements,
    largestActivationBytes: 4 * largestElements,
  };
}
