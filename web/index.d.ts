/// <reference lib="dom" />
// Type declarations of the saliency library's JavaScript API (web/index.js).

import type {
  BaselineName, CustomPreprocess, Map2D, Method, MethodOptions, Model as ModelInfo, PresetName, Variant,
} from './engine.js';

export type { BaselineName, Map2D, MethodOptions, Variant };
export type MethodName = Method;
export type ColormapName = 'gray' | 'inferno' | 'viridis' | 'jet' | 'diverging';
export type PreprocessPreset = PresetName;
/** model input = (pixel * scale - mean) / std per channel, pixels in [0, 255]; mean/std in the model's channel
 * order; unset keys: scale 1, mean 0, std 1, bgr false. */
export type Preprocess = CustomPreprocess;

/** RGBA8 pixels, as in ImageData. */
export interface RGBAImage {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}
/** Pixels in Node or anywhere: RGBA or RGB, 8-bit or float in [0, 255]. */
export interface PixelData {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array | Float32Array | Float64Array | number[];
  channels?: 3 | 4;
}
/**
 * Browsers: ImageData, <img>, <canvas>, <video>, ImageBitmap, OffscreenCanvas, VideoFrame, Blob/File, a URL.
 * Node: a file path, a Buffer/Uint8Array/ArrayBuffer of an encoded image (PNG, JPEG, ...), pixel data.
 */
export type ImageInput =
  | PixelData
  | string
  | URL
  | ArrayBuffer
  | Uint8Array
  | Blob
  | { encoded: Uint8Array }
  | CanvasImageSourceLike;
/** Any browser image source (kept structural so that the types also load without the DOM lib). */
export interface CanvasImageSourceLike {
  width?: number;
  height?: number;
}

/** A map over the model's input pixels: values per pixel (channels 3 for RGB attributions, 1 for Grad-CAM/XRAI). */
export interface Mask {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}
export interface Explanation extends Mask {
  method: MethodName;
  /** The class explained, and its name when the model has labels. */
  target: number;
  label: string | null;
  /** Its pre-softmax score F(x). */
  score: number;
  /** Path methods: F(x) - F(baseline), and its gap to the sum of the attributions. */
  scoreDifference?: number;
  completenessGap?: number;
  /** Grad-CAM: the map at the layer's own resolution. */
  lowRes?: Map2D;
  /** XRAI: each pixel's region rank (0 = most salient), -1 if unranked. */
  regionRank?: Int32Array;
}

export interface Classification {
  index: number;
  label: string | null;
  /** softmax probability */
  score: number;
}

export interface CallOptions {
  signal?: AbortSignal;
}
export interface ProgressOptions extends CallOptions {
  /** Fraction done, in [0, 1]. */
  onProgress?: (fraction: number) => void;
}

export interface ExplainOptions extends MethodOptions, ProgressOptions {
  model?: Model;
  baseline?: BaselineName | ImageInput;
}

export type ModelSource =
  | string
  | URL
  | File[]
  | FileList
  | { json: string | Uint8Array | object; shards?: { name: string; data: Uint8Array | ArrayBuffer }[] | Record<string, Uint8Array | ArrayBuffer> };

export interface LoadModelOptions extends ProgressOptions {
  preprocess?: PreprocessPreset | Preprocess;
  /** A URL/path of labels.json, an array of names, or { "0": "name", ... }; false for none. */
  labels?: string | URL | (string | null)[] | Record<string, string> | false;
}

export interface SessionOptions {
  /** 0 = all cores (default). */
  threads?: number;
  /** Run the engine in a Web Worker / worker_threads Worker (default true). */
  worker?: boolean;
  variant?: 'auto' | Variant;
  wasmBinary?: ArrayBuffer | Uint8Array;
  /**
   * How an aborted call stops the worker's engine: true (the default where SharedArrayBuffer is usable: Node, and
   * pages that are crossOriginIsolated) through a shared flag; false by terminating the worker, which the next call
   * restarts and reloads the models into.
   */
  sharedMemory?: boolean;
  /** Only without a worker (functions do not cross into workers). */
  locateFile?: (path: string, prefix: string) => string;
}

export interface PictureOptions {
  colormap?: ColormapName;
  /** The photo to blend under the colours (same size as the map; browsers fit other sizes). */
  overlay?: ImageInput;
  /** Weight of the colours over the photo, in [0, 1]; default 0.5. */
  alpha?: number;
  /** For masks with channels: the percentile of visualizeImageGrayscale/Diverging; default 99. */
  percentile?: number;
}

/** A loaded model: the engine's facts about it (input size, classes, layers) and the session's. */
export interface Model extends ModelInfo {}
export declare class Model {
  readonly id: number;
  readonly session: Saliency;
  readonly labels: (string | null)[] | null;
  readonly preprocess: PreprocessPreset | Preprocess;
  label(index: number): string | null;
  classify(image: ImageInput, options?: { top?: number } & CallOptions): Promise<Classification[]>;
  explain(image: ImageInput, options?: ExplainOptions): Promise<Explanation>;
  free(): Promise<void>;
}

export declare class Saliency {
  static create(options?: SessionOptions): Promise<Saliency>;
  /** 'simd-threads' or 'simd' (single-threaded: no SharedArrayBuffer, i.e. not crossOriginIsolated). */
  readonly variant: Variant;
  readonly threads: number;
  readonly usesWorker: boolean;
  /** The model calls use when they name none: the last one loaded. */
  readonly model: Model | null;
  loadModel(source: ModelSource, options?: LoadModelOptions): Promise<Model>;
  freeModel(model: Model): Promise<void>;
  classify(image: ImageInput, options?: { top?: number; model?: Model } & CallOptions): Promise<Classification[]>;
  explain(image: ImageInput, options?: ExplainOptions): Promise<Explanation>;
  decodeImage(image: ImageInput, options?: CallOptions): Promise<RGBAImage>;
  resizeMap<T extends Mask | Map2D>(map: T, width: number, height: number): Promise<T>;
  xraiTopMask(explanation: Explanation, percent: number): Promise<Map2D>;
  toPNG(map: Mask | Map2D | RGBAImage, options?: PictureOptions): Promise<Uint8Array>;
  heapBytes(): Promise<number>;
  dispose(): void;
}

export declare const METHODS: MethodName[];
export declare const COLORMAPS: ColormapName[];

/** PAIR saliency's VisualizeImageGrayscale: sum of |mask| over channels, scaled to [0, 1] at the percentile. */
export declare function visualizeImageGrayscale(mask: Mask | PixelData, percentile?: number): Map2D;
/** PAIR saliency's VisualizeImageDiverging: sum over channels / percentile of |sum|, clipped to [-1, 1]. */
export declare function visualizeImageDiverging(mask: Mask | PixelData, percentile?: number): Map2D;
/** NumPy's default ('linear') percentile. */
export declare function percentileLinear(values: ArrayLike<number>, percentile: number): number;
export declare function colorizeMap(map: Map2D, options?: { colormap?: ColormapName; overlay?: RGBAImage; alpha?: number }): RGBAImage;
/** An HTMLCanvasElement (OffscreenCanvas in a worker) in browsers; an ImageData-like RGBAImage in Node. */
export declare function toCanvas(map: Mask | Map2D | RGBAImage, options?: PictureOptions): HTMLCanvasElement | OffscreenCanvas | RGBAImage;
/** PNG bytes (encoded by stb_image_write in the wasm module). */
export declare function toPNG(map: Mask | Map2D | RGBAImage, options?: PictureOptions & { session?: Saliency }): Promise<Uint8Array>;
/** A photo scaled to cover width x height and centre-cropped, as the library fits photos to a model's input. */
export declare function resizeCrop(pixels: PixelData, width: number, height: number): RGBAImage;
/** The part of a photo that resizeCrop keeps, in the photo's pixels (as sal_image_crop_rect). */
export declare function cropRect(photoWidth: number, photoHeight: number, width: number, height: number):
  { x: number; y: number; width: number; height: number };
/** float32 values as the bytes of a NumPy .npy file. */
export declare function encodeNpy(data: ArrayLike<number>, shape: number[]): Uint8Array;
export declare const BASELINES: BaselineName[];
export declare function sharedMemoryUsable(): boolean;
export declare function abortError(message?: string): Error;
export declare const isBrowser: boolean;
export default Saliency;
