// PNG decode and encode for the runner, on pngjs: it reads every standard colour type, bit depth and
// Adam7 interlacing into 8-bit RGBA (16-bit samples rounded, low depths scaled to 0..255, palette and
// tRNS applied) and writes 8-bit RGB or RGBA. Before pngjs sees a file, `checkStructure` walks its
// chunks, for what pngjs's sync reader does not do itself; see there.
import { crc32, inflateSync, constants as zlibConstants } from "node:zlib";
import { PNG } from "pngjs";
import type { RgbaImage } from "./image-ops.js";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export class PngError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PngError";
  }
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.equals(Buffer.from(bytes.buffer, bytes.byteOffset, 8));
}

export interface DecodeLimits {
  maxWidth?: number;
  maxHeight?: number;
}

const CHANNELS_BY_COLOR_TYPE: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const BIT_DEPTHS_BY_COLOR_TYPE: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
// Adam7 passes: x start, y start, x step, y step.
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;
const CRITICAL_CHUNKS = new Set(["IHDR", "PLTE", "IDAT", "IEND"]);

/** Bytes of filtered image data the header implies: one filter byte per row of each (sub)image. */
function imageDataSize(width: number, height: number, bitsPerPixel: number, interlaced: boolean): number {
  let size = 0;
  for (const [x0, y0, dx, dy] of interlaced ? ADAM7 : ([[0, 0, 1, 1]] as const)) {
    const passWidth = Math.ceil((width - x0) / dx);
    const passHeight = Math.ceil((height - y0) / dy);
    if (passWidth > 0 && passHeight > 0) size += passHeight * (Math.ceil((passWidth * bitsPerPixel) / 8) + 1);
  }
  return size;
}

/**
 * What pngjs's sync reader leaves out, checked before it allocates or inflates anything:
 * - the size limit, from IHDR;
 * - the image data inflates to exactly the size IHDR implies: pngjs fills short data with zeros
 *   without a word, and inflates interlaced data with no cap (a few kB of zlib can make gigabytes);
 * - readable errors: once its parser fails mid-file (bad CRC, bad IHDR, unknown critical chunk),
 *   pngjs reports only "unrecognised content at end of stream".
 * Returns the file up to the end of IEND, since pngjs also refuses any bytes after it.
 */
function checkStructure(buffer: Buffer, limits: DecodeLimits): Buffer {
  const idat: Buffer[] = [];
  let header: { width: number; height: number; bitsPerPixel: number; interlaced: boolean } | undefined;
  let offset = 8;
  for (let ended = false; !ended; ) {
    if (offset + 12 > buffer.length) throw new PngError("file is truncated");
    const length = buffer.readUInt32BE(offset);
    const type = buffer.toString("latin1", offset + 4, offset + 8);
    const dataEnd = offset + 8 + length;
    if (dataEnd + 4 > buffer.length) throw new PngError(`chunk ${type} is truncated`);
    const data = buffer.subarray(offset + 8, dataEnd);
    if (crc32(buffer.subarray(offset + 4, dataEnd)) !== buffer.readUInt32BE(dataEnd)) {
      throw new PngError(`chunk ${type} has a bad CRC`);
    }
    if (!header && type !== "IHDR") throw new PngError("IHDR must come first");
    if (type === "IHDR") {
      if (length !== 13) throw new PngError("IHDR has the wrong length");
      const [width, height] = [data.readUInt32BE(0), data.readUInt32BE(4)];
      const [bitDepth, colorType] = [data[8] ?? 0, data[9] ?? 0];
      const depths = BIT_DEPTHS_BY_COLOR_TYPE[colorType];
      if (!depths) throw new PngError(`unknown colour type ${colorType}`);
      if (!depths.includes(bitDepth)) {
        throw new PngError(`bit depth ${bitDepth} is not allowed for colour type ${colorType}`);
      }
      if (data[10] !== 0 || data[11] !== 0 || (data[12] ?? 0) > 1) {
        throw new PngError("unknown compression, filter or interlace method");
      }
      if (width === 0 || height === 0) throw new PngError("image has no pixels");
      if (
        width > (limits.maxWidth ?? Number.POSITIVE_INFINITY) ||
        height > (limits.maxHeight ?? Number.POSITIVE_INFINITY)
      ) {
        throw new PngError(`image is ${width}×${height}, over the limit of ${limits.maxWidth}×${limits.maxHeight}`);
      }
      header = {
        width,
        height,
        bitsPerPixel: (CHANNELS_BY_COLOR_TYPE[colorType] ?? 4) * bitDepth,
        interlaced: data[12] === 1,
      };
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      ended = true;
    } else if (!CRITICAL_CHUNKS.has(type) && (type.charCodeAt(0) & 0x20) === 0) {
      throw new PngError(`unknown critical chunk ${type}`);
    }
    offset = dataEnd + 4;
  }
  if (!header) throw new PngError("missing IHDR");
  if (idat.length === 0) throw new PngError("missing image data");
  const expected = imageDataSize(header.width, header.height, header.bitsPerPixel, header.interlaced);
  let inflated: number;
  try {
    inflated = inflateSync(Buffer.concat(idat), { maxOutputLength: expected + 1 }).length;
  } catch (error) {
    throw new PngError(`image data does not inflate: ${(error as Error).message}`);
  }
  if (inflated < expected) throw new PngError("image data is truncated");
  return buffer.subarray(0, offset);
}

/** Decodes any standard PNG to 8-bit RGBA. */
export function decodePng(bytes: Uint8Array, limits: DecodeLimits = {}): RgbaImage {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!isPng(buffer)) throw new PngError("not a PNG file (bad signature)");
  const file = checkStructure(buffer, limits);
  let png: { width: number; height: number; data: Buffer };
  try {
    png = PNG.sync.read(file);
  } catch (error) {
    throw new PngError((error as Error).message);
  }
  return {
    width: png.width,
    height: png.height,
    data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length),
  };
}

/** Encodes 8-bit RGBA pixels; fully opaque images are written as RGB, which is smaller. */
export function encodePng(image: RgbaImage): Buffer {
  const { width, height, data } = image;
  if (data.length !== width * height * 4) throw new PngError("pixel buffer does not match the image size");
  let opaque = true;
  for (let i = 3; i < data.length; i += 4) {
    if (data[i] !== 255) {
      opaque = false;
      break;
    }
  }
  const png = new PNG();
  png.width = width;
  png.height = height;
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return PNG.sync.write(png, {
    colorType: opaque ? 2 : 6,
    inputColorType: 6,
    bitDepth: 8,
    // zlib's defaults rather than pngjs's (level 9, Z_RLE), which make smooth images half as big again.
    deflateLevel: zlibConstants.Z_DEFAULT_COMPRESSION,
    deflateStrategy: zlibConstants.Z_DEFAULT_STRATEGY,
  });
}
