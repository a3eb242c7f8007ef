// engine.d.ts - types of web/engine.js, the synchronous engine over the wasm module.

export type Variant = 'simd-threads' | 'simd';

export interface EngineOptions {
  /** Threads for the kernels; 0 (default) = all cores. The 'simd' variant always uses 1. */
  threads?: number;
  /** 'auto' (default): 'simd-threads' when SharedArrayBuffer is usable (Node, or a
   * crossOriginIsolated page) and more than one thread is wanted, else 'simd'. */
  variant?: Variant | 'auto';
  /** The .wasm bytes (read from dist/ automatically under Node). */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /** Where the module's files are (as Emscripten's Module.locateFile). */
  locateFile?: (path: string, scriptDirectory: string) => string;
}

export type PresetName = 'caffe' | 'tf' | 'torch' | 'none';

/** out = (pixel * scale - mean) / std per channel, RGB reversed to BGR first when bgr. */
export interface CustomPreprocess {
  scale?: number;
  mean?: [number, number, number];
  std?: [number, number, number];
  bgr?: boolean;
}

export interface ModelSource {
  /** model.json, as text or bytes. */
  json: string | Uint8Array | ArrayBuffer;
  /** Weight shards, matched to the weights manifest by name. */
  shards?: { name: string; data: Uint8Array | ArrayBuffer }[];
  /** Default 'caffe', as the native CLI. */
  preprocess?: PresetName | CustomPreprocess;
}

export interface Model {
  readonly inputHeight: number;
  readonly inputWidth: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly layers: string[];
  readonly lastSpatialLayer: string | null;
}

/** RGBA8 (or RGB8) pixels of any size, resized and centre-cropped to the model's input. */
export interface ByteImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

/** RGB pixels in [0, 255] as floats; not resized when already the model's input size. */
export interface FloatImage {
  width: number;
  height: number;
  channels?: 3;
  data: Float32Array;
}

export type Image = ByteImage | FloatImage;

export interface RGBAImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

export type Method =
  | 'vanilla' | 'gradient-x-input' | 'guided-backprop' | 'deconvnet' | 'integrated-gradients' | 'occlusion'
  | 'grad-cam' | 'guided-grad-cam' | 'xrai' | 'blur-ig' | 'guided-ig';

/** The method and its parameters; unset keys keep the library's defaults (sal_explain_defaults). */
export interface MethodOptions {
  method?: Method;
  /** Class index; negative or unset: the top class. */
  target?: number;
  smoothSamples?: number;
  smoothNoise?: number;
  smoothAggregate?: 'mean' | 'squared' | 'vargrad';
  seed?: number;
  steps?: number;
  quadrature?: 'riemann_left' | 'riemann_right' | 'riemann_middle' | 'riemann_trapezoid' | 'gauss_legendre';
  layer?: string;
  window?: number;
  stride?: number;
  baselineValue?: number;
  blurMaxSigma?: number;
  guidedFraction?: number;
  guidedMaxDist?: number;
  xraiAreaThreshold?: number;
  /** Bytes for batches of samples/steps/windows; 0 = 512 MiB. */
  memoryBudget?: number;
}

export type BaselineName = 'black' | 'white' | 'noise' | 'blur';

export interface ExplainOptions extends MethodOptions {
  baseline?: BaselineName | Image;
  /** Ignored here (the asynchronous API's keys). */
  onProgress?: unknown;
  signal?: unknown;
}

/** A 2-D map { width, height, data }: visualizeImageGrayscale in [0, 1], visualizeImageDiverging in [-1, 1]. */
export interface Map2D {
  width: number;
  height: number;
  data: Float32Array;
}

export interface Explanation {
  width: number;
  height: number;
  /** 3 for per-pixel attributions, 1 for Grad-CAM and XRAI. */
  channels: number;
  data: Float32Array;
  target: number;
  /** The explained class's pre-softmax score. */
  score: number;
  /** Path methods: F(x) - F(x'). */
  scoreDifference?: number;
  /** Path methods: F(x) - F(x') - sum of attributions. */
  completenessGap?: number;
  /** Grad-CAM: the map at the layer's resolution. */
  lowRes?: Map2D;
  /** XRAI: each pixel's region rank (0 = most salient), -1 if unranked. */
  regionRank?: Int32Array;
}

/** Thrown for every failure: the C library's message, and a short code. */
export interface EngineError extends Error {
  /** 'AbortError' when cancelled. */
  name: string;
  code?: 'io' | 'format' | 'unsupported' | 'shape' | 'argument' | 'memory' | 'numeric' | 'cancelled' | 'unknown';
}

export interface Engine {
  readonly variant: Variant;
  readonly threads: number;

  loadModel(source: ModelSource): Model;
  freeModel(model: Model): void;

  decodeImage(bytes: Uint8Array | ArrayBuffer): RGBAImage;
  classify(model: Model, image: Image, options?: { top?: number }): { index: number; score: number }[];
  /** onProgress gets the fraction done; returning true cancels (AbortError). */
  explain(model: Model, image: Image, options?: ExplainOptions,
    onProgress?: (fraction: number) => boolean | void): Explanation;

  /** Model inputs (already preprocessed, batch x height x width x channels) through sal_forward. */
  forward(model: Model, input: Float32Array, shape?: { batch?: number; height?: number; width?: number }):
    { logits: Float32Array; probs: Float32Array };
  /** The same through sal_backward: gradients of sum_b logits[b][targets[b]]. */
  backward(model: Model, input: Float32Array, options?: {
    batch?: number; height?: number; width?: number;
    targets?: ArrayLike<number>; rule?: 'standard' | 'guided' | 'deconvnet'; layer?: string;
  }): {
    inputGradient: Float32Array; logits: Float32Array; targets: Int32Array;
    layerActivation?: Float32Array; layerGradient?: Float32Array;
  };

  visualizeGrayscale(mask: { width: number; height: number; channels?: number; data: ArrayLike<number> },
    percentile?: number): Map2D;
  visualizeDiverging(mask: { width: number; height: number; channels?: number; data: ArrayLike<number> },
    percentile?: number): Map2D;
  colorize(map: { width: number; height: number; data: ArrayLike<number> },
    options?: { colormap?: 'gray' | 'inferno' | 'viridis' | 'jet' | 'diverging'; overlay?: ByteImage; alpha?: number }):
    RGBAImage;
  resizeMap<M extends { width: number; height: number; channels?: number; data: ArrayLike<number> }>(
    map: M, width: number, height: number): { width: number; height: number; channels?: number; data: Float32Array };
  xraiTopMask(explanation: { width: number; height: number; regionRank?: Int32Array }, percent: number): Map2D;
  encodePNG(image: { width: number; height: number; data: Uint8Array | Uint8ClampedArray }): Uint8Array;

  /** Size of the wasm memory in bytes. */
  heapBytes(): number;
  /** Bytes malloc'd inside the module right now. */
  heapInUse(): number;
  dispose(): void;
}

export function createEngine(options?: EngineOptions): Promise<Engine>;
