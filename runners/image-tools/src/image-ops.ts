// Pure image operations on 8-bit RGBA: no I/O. Resampling and blur share one separable filter
// engine that works in premultiplied alpha, so transparent pixels do not bleed their colour.
// The long operations are async only to call `checkpoint` between rows: the runner uses it to
// report progress, let the event loop serve /cancel, and stop when the run is cancelled.

export interface RgbaImage {
  width: number;
  height: number;
  /** Row-major RGBA, 4 bytes per pixel. */
  data: Uint8Array;
}

/** Called with the fraction of work done (0..1); may throw to stop the operation. */
export type Checkpoint = (fraction: number) => void | Promise<void>;

export function createImage(width: number, height: number): RgbaImage {
  return { width, height, data: new Uint8Array(width * height * 4) };
}

export function pixelAt(image: RgbaImage, x: number, y: number): [number, number, number, number] {
  const i = (y * image.width + x) * 4;
  const { data } = image;
  return [data[i] ?? 0, data[i + 1] ?? 0, data[i + 2] ?? 0, data[i + 3] ?? 0];
}

/**
 * For each output index along one axis, the source indices it reads and their weights.
 * Flattened: taps of output i are at positions start[i] .. start[i+1]-1.
 */
interface Taps {
  start: Int32Array;
  source: Int32Array;
  weight: Float32Array;
}

/** Builds taps straight into typed arrays; `addTaps` calls `add` for each tap of output `index`. */
function buildTaps(
  outputLength: number,
  maxTapsPerOutput: number,
  addTaps: (index: number, add: (source: number, weight: number) => void) => void,
): Taps {
  const start = new Int32Array(outputLength + 1);
  const source = new Int32Array(outputLength * maxTapsPerOutput);
  const weight = new Float32Array(outputLength * maxTapsPerOutput);
  let position = 0;
  const add = (sourceIndex: number, tapWeight: number): void => {
    source[position] = sourceIndex;
    weight[position] = tapWeight;
    position++;
  };
  for (let index = 0; index < outputLength; index++) {
    start[index] = position;
    addTaps(index, add);
  }
  start[outputLength] = position;
  return { start, source: source.subarray(0, position), weight: weight.subarray(0, position) };
}

/** Area average when shrinking (each output pixel averages the source span it covers), bilinear when enlarging. */
function resampleTaps(sourceLength: number, outputLength: number): Taps {
  const scale = sourceLength / outputLength;
  if (outputLength < sourceLength) {
    return buildTaps(outputLength, Math.ceil(scale) + 1, (index, add) => {
      const from = index * scale;
      const to = from + scale;
      for (let source = Math.floor(from); source < Math.min(sourceLength, Math.ceil(to)); source++) {
        const overlap = Math.min(to, source + 1) - Math.max(from, source);
        if (overlap > 1e-9) add(source, overlap / scale);
      }
    });
  }
  return buildTaps(outputLength, 2, (index, add) => {
    // Pixel centres line up: output centre (index + 0.5) maps to source position scale*(index + 0.5) - 0.5.
    const position = Math.min(sourceLength - 1, Math.max(0, (index + 0.5) * scale - 0.5));
    const left = Math.floor(position);
    const fraction = position - left;
    if (fraction === 0 || left + 1 >= sourceLength) {
      add(left, 1);
    } else {
      add(left, 1 - fraction);
      add(left + 1, fraction);
    }
  });
}

/** Normalised Gaussian with radius ceil(3σ); edges repeat the border pixel. */
function gaussianTaps(length: number, sigma: number): Taps {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma)));
  const sum = kernel.reduce((a, b) => a + b, 0);
  return buildTaps(length, kernel.length, (index, add) => {
    for (let k = 0; k < kernel.length; k++) {
      add(Math.min(length - 1, Math.max(0, index + k - radius)), (kernel[k] ?? 0) / sum);
    }
  });
}

/** Applies `horizontal` to every row, then `vertical` to every column. */
async function applySeparable(
  image: RgbaImage,
  horizontal: Taps,
  vertical: Taps,
  checkpoint?: Checkpoint,
): Promise<RgbaImage> {
  const { width: sourceWidth, height: sourceHeight, data } = image;
  const outputWidth = horizontal.start.length - 1;
  const outputHeight = vertical.start.length - 1;
  const totalRows = sourceHeight + outputHeight;
  const rowLength = outputWidth * 4;
  // Horizontal pass: source rows → premultiplied floats, outputWidth wide.
  const between = new Float32Array(rowLength * sourceHeight);
  const premultipliedRow = new Float32Array(sourceWidth * 4);
  for (let y = 0; y < sourceHeight; y++) {
    for (let x = 0; x < sourceWidth; x++) {
      const i = (y * sourceWidth + x) * 4;
      const alpha = (data[i + 3] ?? 0) / 255;
      premultipliedRow[x * 4] = (data[i] ?? 0) * alpha;
      premultipliedRow[x * 4 + 1] = (data[i + 1] ?? 0) * alpha;
      premultipliedRow[x * 4 + 2] = (data[i + 2] ?? 0) * alpha;
      premultipliedRow[x * 4 + 3] = data[i + 3] ?? 0;
    }
    const rowStart = y * rowLength;
    for (let x = 0; x < outputWidth; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let t = horizontal.start[x] ?? 0, end = horizontal.start[x + 1] ?? 0; t < end; t++) {
        const s = (horizontal.source[t] ?? 0) * 4;
        const w = horizontal.weight[t] ?? 0;
        r += (premultipliedRow[s] ?? 0) * w;
        g += (premultipliedRow[s + 1] ?? 0) * w;
        b += (premultipliedRow[s + 2] ?? 0) * w;
        a += (premultipliedRow[s + 3] ?? 0) * w;
      }
      between[rowStart + x * 4] = r;
      between[rowStart + x * 4 + 1] = g;
      between[rowStart + x * 4 + 2] = b;
      between[rowStart + x * 4 + 3] = a;
    }
    await checkpoint?.((y + 1) / totalRows);
  }
  // Vertical pass, one output row at a time (rows of `between` are contiguous, so this reads in order).
  const output = createImage(outputWidth, outputHeight);
  const accumulator = new Float32Array(rowLength);
  for (let y = 0; y < outputHeight; y++) {
    accumulator.fill(0);
    for (let t = vertical.start[y] ?? 0, end = vertical.start[y + 1] ?? 0; t < end; t++) {
      const sourceRow = (vertical.source[t] ?? 0) * rowLength;
      const w = vertical.weight[t] ?? 0;
      for (let i = 0; i < rowLength; i++) accumulator[i] = (accumulator[i] ?? 0) + (between[sourceRow + i] ?? 0) * w;
    }
    const outputRow = y * rowLength;
    for (let x = 0; x < rowLength; x += 4) {
      const alpha = accumulator[x + 3] ?? 0;
      const unpremultiply = alpha > 1e-6 ? 255 / alpha : 0;
      // Uint8Array stores clamp nothing and truncate, so round and clamp explicitly.
      output.data[outputRow + x] = clampByte((accumulator[x] ?? 0) * unpremultiply);
      output.data[outputRow + x + 1] = clampByte((accumulator[x + 1] ?? 0) * unpremultiply);
      output.data[outputRow + x + 2] = clampByte((accumulator[x + 2] ?? 0) * unpremultiply);
      output.data[outputRow + x + 3] = clampByte(alpha);
    }
    await checkpoint?.((sourceHeight + y + 1) / totalRows);
  }
  return output;
}

function clampByte(value: number): number {
  return value <= 0 ? 0 : value >= 255 ? 255 : Math.round(value);
}

export async function resize(
  image: RgbaImage,
  width: number,
  height: number,
  checkpoint?: Checkpoint,
): Promise<RgbaImage> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`resize needs positive integer sizes, got ${width}×${height}`);
  }
  return applySeparable(image, resampleTaps(image.width, width), resampleTaps(image.height, height), checkpoint);
}

export async function gaussianBlur(image: RgbaImage, sigma: number, checkpoint?: Checkpoint): Promise<RgbaImage> {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`sigma must be a positive number, got ${sigma}`);
  return applySeparable(image, gaussianTaps(image.width, sigma), gaussianTaps(image.height, sigma), checkpoint);
}

/** The size that fits inside maxWidth×maxHeight with the same aspect ratio; never larger than the image. */
export function fitInside(
  width: number,
  height: number,
  maxWidth: number,
  maxHeight: number,
): { width: number; height: number } {
  const scale = Math.min(maxWidth / width, maxHeight / height, 1);
  return {
    width: Math.min(maxWidth, Math.max(1, Math.round(width * scale))),
    height: Math.min(maxHeight, Math.max(1, Math.round(height * scale))),
  };
}

export async function thumbnail(
  image: RgbaImage,
  maxWidth: number,
  maxHeight: number,
  checkpoint?: Checkpoint,
): Promise<RgbaImage> {
  const size = fitInside(image.width, image.height, maxWidth, maxHeight);
  return resize(image, size.width, size.height, checkpoint);
}

/** Rec. 601 luma (0.299 R + 0.587 G + 0.114 B), the weights most image libraries use for "L"; alpha is kept. */
export function grayscale(image: RgbaImage): RgbaImage {
  const output = createImage(image.width, image.height);
  const { data } = image;
  for (let i = 0; i < data.length; i += 4) {
    const luma = Math.round(0.299 * (data[i] ?? 0) + 0.587 * (data[i + 1] ?? 0) + 0.114 * (data[i + 2] ?? 0));
    output.data[i] = luma;
    output.data[i + 1] = luma;
    output.data[i + 2] = luma;
    output.data[i + 3] = data[i + 3] ?? 0;
  }
  return output;
}

/** The eight colour bars of the test pattern, left to right. */
export const TEST_PATTERN_BARS: readonly (readonly [number, number, number])[] = [
  [255, 255, 255],
  [255, 255, 0],
  [0, 255, 255],
  [0, 255, 0],
  [255, 0, 255],
  [255, 0, 0],
  [0, 0, 255],
  [0, 0, 0],
];

/** Colour bars over the top three quarters, a black-to-white horizontal ramp below; opaque. */
export function drawTestPattern(width: number, height: number): RgbaImage {
  const image = createImage(width, height);
  const barsHeight = Math.round(height * 0.75);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      if (y < barsHeight) {
        const bar =
          TEST_PATTERN_BARS[Math.min(TEST_PATTERN_BARS.length - 1, Math.floor((x * TEST_PATTERN_BARS.length) / width))];
        image.data[i] = bar?.[0] ?? 0;
        image.data[i + 1] = bar?.[1] ?? 0;
        image.data[i + 2] = bar?.[2] ?? 0;
      } else {
        const level = width === 1 ? 0 : Math.round((x * 255) / (width - 1));
        image.data[i] = level;
        image.data[i + 1] = level;
        image.data[i + 2] = level;
      }
      image.data[i + 3] = 255;
    }
  }
  return image;
}
