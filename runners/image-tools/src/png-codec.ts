// PNG decode (every standard colour type, bit depth and Adam7 interlacing, to 8-bit RGBA) and
// encode (8-bit RGB or RGBA) on node:zlib alone. pngjs was planned but is not installed, and the
// project adds no dependencies; this covers what the runner reads and writes.
import { crc32, deflateSync, inflateSync } from "node:zlib";
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

interface Header {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
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

export interface DecodeLimits {
  maxWidth?: number;
  maxHeight?: number;
}

function readHeader(data: Buffer): Header {
  if (data.length !== 13) throw new PngError("IHDR has the wrong length");
  const header: Header = {
    width: data.readUInt32BE(0),
    height: data.readUInt32BE(4),
    bitDepth: data[8] ?? 0,
    colorType: data[9] ?? 0,
    interlaced: data[12] === 1,
  };
  const depths = BIT_DEPTHS_BY_COLOR_TYPE[header.colorType];
  if (!depths) throw new PngError(`unknown colour type ${header.colorType}`);
  if (!depths.includes(header.bitDepth)) {
    throw new PngError(`bit depth ${header.bitDepth} is not allowed for colour type ${header.colorType}`);
  }
  if (data[10] !== 0 || data[11] !== 0 || (data[12] ?? 0) > 1) {
    throw new PngError("unknown compression, filter or interlace method");
  }
  if (header.width === 0 || header.height === 0) throw new PngError("image has no pixels");
  return header;
}

function paeth(left: number, up: number, upLeft: number): number {
  const estimate = left + up - upLeft;
  const toLeft = Math.abs(estimate - left);
  const toUp = Math.abs(estimate - up);
  const toUpLeft = Math.abs(estimate - upLeft);
  if (toLeft <= toUp && toLeft <= toUpLeft) return left;
  return toUp <= toUpLeft ? up : upLeft;
}

/** Undoes the per-row filters of one (sub)image in place; returns the offset just past it. */
function unfilter(raw: Buffer, offset: number, rowBytes: number, rows: number, bytesPerPixel: number): number {
  const bpp = bytesPerPixel;
  let previous: Buffer | undefined;
  for (let row = 0; row < rows; row++) {
    const filter = raw[offset];
    const start = offset + 1;
    if (start + rowBytes > raw.length) throw new PngError("image data is truncated");
    const line = raw.subarray(start, start + rowBytes);
    // One loop per filter type: this runs for every byte of the image.
    switch (filter) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < rowBytes; i++) line[i] = ((line[i] ?? 0) + (line[i - bpp] ?? 0)) & 0xff;
        break;
      case 2:
        if (previous) for (let i = 0; i < rowBytes; i++) line[i] = ((line[i] ?? 0) + (previous[i] ?? 0)) & 0xff;
        break;
      case 3:
        for (let i = 0; i < rowBytes; i++) {
          const left = i >= bpp ? (line[i - bpp] ?? 0) : 0;
          const up = previous ? (previous[i] ?? 0) : 0;
          line[i] = ((line[i] ?? 0) + ((left + up) >> 1)) & 0xff;
        }
        break;
      case 4:
        for (let i = 0; i < rowBytes; i++) {
          const left = i >= bpp ? (line[i - bpp] ?? 0) : 0;
          const up = previous ? (previous[i] ?? 0) : 0;
          const upLeft = previous && i >= bpp ? (previous[i - bpp] ?? 0) : 0;
          line[i] = ((line[i] ?? 0) + paeth(left, up, upLeft)) & 0xff;
        }
        break;
      default:
        throw new PngError(`unknown row filter ${filter}`);
    }
    previous = line;
    offset = start + rowBytes;
  }
  return offset;
}

interface Palette {
  colors: Uint8Array; // RGB triples
  alpha: Uint8Array; // one per entry; 255 where tRNS gives none
}

/** Writes the pixels of one unfiltered (sub)image into the RGBA output. */
function expandPixels(
  raw: Buffer,
  offset: number,
  header: Header,
  pass: { width: number; height: number; x0: number; y0: number; dx: number; dy: number },
  palette: Palette | undefined,
  transparentKey: number[] | undefined,
  out: Uint8Array,
): void {
  const channels = CHANNELS_BY_COLOR_TYPE[header.colorType] ?? 1;
  const { bitDepth } = header;
  const rowBytes = Math.ceil((pass.width * channels * bitDepth) / 8);
  const maxSample = (1 << Math.min(bitDepth, 8)) - 1;
  const sample = (rowStart: number, index: number): number => {
    if (bitDepth === 8) return raw[rowStart + index] ?? 0;
    if (bitDepth === 16) return ((raw[rowStart + 2 * index] ?? 0) << 8) | (raw[rowStart + 2 * index + 1] ?? 0);
    const bitOffset = index * bitDepth;
    const byte = raw[rowStart + (bitOffset >> 3)] ?? 0;
    return (byte >> (8 - bitDepth - (bitOffset & 7))) & maxSample;
  };
  // Samples to 8 bits: 16-bit rounds, low depths scale so that the maximum maps to 255.
  const to8 = (value: number): number =>
    bitDepth === 16 ? Math.round(value / 257) : Math.round((value * 255) / maxSample);

  if (bitDepth === 8 && (header.colorType === 2 || header.colorType === 6) && !transparentKey) {
    // The common case, without the per-sample conversions below.
    for (let row = 0; row < pass.height; row++) {
      const rowStart = offset + row * (rowBytes + 1) + 1;
      const y = pass.y0 + row * pass.dy;
      for (let column = 0; column < pass.width; column++) {
        const source = rowStart + column * channels;
        const target = (y * header.width + pass.x0 + column * pass.dx) * 4;
        out[target] = raw[source] ?? 0;
        out[target + 1] = raw[source + 1] ?? 0;
        out[target + 2] = raw[source + 2] ?? 0;
        out[target + 3] = channels === 4 ? (raw[source + 3] ?? 0) : 255;
      }
    }
    return;
  }
  for (let row = 0; row < pass.height; row++) {
    const rowStart = offset + row * (rowBytes + 1) + 1;
    const y = pass.y0 + row * pass.dy;
    for (let column = 0; column < pass.width; column++) {
      const x = pass.x0 + column * pass.dx;
      const target = (y * header.width + x) * 4;
      const first = column * channels;
      let r: number;
      let g: number;
      let b: number;
      let a = 255;
      switch (header.colorType) {
        case 0: {
          const gray = sample(rowStart, first);
          if (transparentKey && gray === transparentKey[0]) a = 0;
          r = g = b = to8(gray);
          break;
        }
        case 2: {
          const red = sample(rowStart, first);
          const green = sample(rowStart, first + 1);
          const blue = sample(rowStart, first + 2);
          if (transparentKey && red === transparentKey[0] && green === transparentKey[1] && blue === transparentKey[2])
            a = 0;
          r = to8(red);
          g = to8(green);
          b = to8(blue);
          break;
        }
        case 3: {
          const index = sample(rowStart, first);
          if (!palette || index * 3 + 2 >= palette.colors.length)
            throw new PngError(`palette index ${index} out of range`);
          r = palette.colors[index * 3] ?? 0;
          g = palette.colors[index * 3 + 1] ?? 0;
          b = palette.colors[index * 3 + 2] ?? 0;
          a = palette.alpha[index] ?? 255;
          break;
        }
        case 4:
          r = g = b = to8(sample(rowStart, first));
          a = to8(sample(rowStart, first + 1));
          break;
        default:
          r = to8(sample(rowStart, first));
          g = to8(sample(rowStart, first + 1));
          b = to8(sample(rowStart, first + 2));
          a = to8(sample(rowStart, first + 3));
      }
      out[target] = r;
      out[target + 1] = g;
      out[target + 2] = b;
      out[target + 3] = a;
    }
  }
}

export function decodePng(bytes: Uint8Array, limits: DecodeLimits = {}): RgbaImage {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!isPng(buffer)) throw new PngError("not a PNG file (bad signature)");
  let header: Header | undefined;
  let palette: Palette | undefined;
  let transparency: Buffer | undefined;
  const imageData: Buffer[] = [];
  let offset = 8;
  let ended = false;
  while (!ended) {
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
    switch (type) {
      case "IHDR":
        header = readHeader(data);
        if (
          header.width > (limits.maxWidth ?? Number.POSITIVE_INFINITY) ||
          header.height > (limits.maxHeight ?? Number.POSITIVE_INFINITY)
        ) {
          throw new PngError(
            `image is ${header.width}×${header.height}, over the limit of ${limits.maxWidth}×${limits.maxHeight}`,
          );
        }
        break;
      case "PLTE":
        palette = { colors: new Uint8Array(data), alpha: new Uint8Array(Math.floor(data.length / 3)).fill(255) };
        break;
      case "tRNS":
        transparency = Buffer.from(data);
        break;
      case "IDAT":
        imageData.push(data);
        break;
      case "IEND":
        ended = true;
        break;
      default:
        // Ancillary chunks (text, gamma, …) carry nothing we use; unknown critical chunks are an error.
        if ((type.charCodeAt(0) & 0x20) === 0) throw new PngError(`unknown critical chunk ${type}`);
    }
    offset = dataEnd + 4;
  }
  if (!header) throw new PngError("missing IHDR");
  if (imageData.length === 0) throw new PngError("missing image data");
  if (header.colorType === 3 && !palette) throw new PngError("palette image without PLTE");

  let transparentKey: number[] | undefined;
  if (transparency && palette) palette.alpha.set(transparency.subarray(0, palette.alpha.length));
  if (transparency && header.colorType === 0) transparentKey = [transparency.readUInt16BE(0)];
  if (transparency && header.colorType === 2) {
    transparentKey = [transparency.readUInt16BE(0), transparency.readUInt16BE(2), transparency.readUInt16BE(4)];
  }

  const channels = CHANNELS_BY_COLOR_TYPE[header.colorType] ?? 1;
  const bitsPerPixel = channels * header.bitDepth;
  const bytesPerPixel = Math.max(1, bitsPerPixel >> 3);
  const passes = header.interlaced
    ? ADAM7.map(([x0, y0, dx, dy]) => ({
        x0,
        y0,
        dx,
        dy,
        width: Math.ceil((header.width - x0) / dx),
        height: Math.ceil((header.height - y0) / dy),
      })).filter((pass) => pass.width > 0 && pass.height > 0)
    : [{ x0: 0, y0: 0, dx: 1, dy: 1, width: header.width, height: header.height }];
  const expectedBytes = passes.reduce(
    (sum, pass) => sum + pass.height * (Math.ceil((pass.width * bitsPerPixel) / 8) + 1),
    0,
  );

  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(imageData), { maxOutputLength: expectedBytes + 1 });
  } catch (error) {
    throw new PngError(`image data does not inflate: ${(error as Error).message}`);
  }
  if (raw.length < expectedBytes) throw new PngError("image data is truncated");

  const pixels = new Uint8Array(header.width * header.height * 4);
  let passOffset = 0;
  for (const pass of passes) {
    const rowBytes = Math.ceil((pass.width * bitsPerPixel) / 8);
    const next = unfilter(raw, passOffset, rowBytes, pass.height, bytesPerPixel);
    expandPixels(raw, passOffset, header, pass, palette, transparentKey, pixels);
    passOffset = next;
  }
  return { width: header.width, height: header.height, data: pixels };
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Writes `row` filtered with `filter` into `out`; returns the sum of absolute byte values (lower packs better). */
function filterRow(filter: number, row: Uint8Array, above: Uint8Array | undefined, bpp: number, out: Buffer): number {
  const length = row.length;
  // One loop per filter type, like unfilter: this runs five times for every byte of the image.
  if (filter === 0) out.set(row);
  else if (filter === 1) {
    for (let i = 0; i < length; i++) out[i] = ((row[i] ?? 0) - (i >= bpp ? (row[i - bpp] ?? 0) : 0)) & 0xff;
  } else if (filter === 2) {
    for (let i = 0; i < length; i++) out[i] = ((row[i] ?? 0) - (above ? (above[i] ?? 0) : 0)) & 0xff;
  } else if (filter === 3) {
    for (let i = 0; i < length; i++) {
      const left = i >= bpp ? (row[i - bpp] ?? 0) : 0;
      out[i] = ((row[i] ?? 0) - ((left + (above ? (above[i] ?? 0) : 0)) >> 1)) & 0xff;
    }
  } else {
    for (let i = 0; i < length; i++) {
      const left = i >= bpp ? (row[i - bpp] ?? 0) : 0;
      const up = above ? (above[i] ?? 0) : 0;
      const upLeft = above && i >= bpp ? (above[i - bpp] ?? 0) : 0;
      out[i] = ((row[i] ?? 0) - paeth(left, up, upLeft)) & 0xff;
    }
  }
  let score = 0;
  for (let i = 0; i < length; i++) {
    const filtered = out[i] ?? 0;
    score += filtered < 128 ? filtered : 256 - filtered;
  }
  return score;
}

/** Filters each row with the filter that gives the smallest sum of absolute bytes (the usual heuristic). */
function filterRows(pixels: Uint8Array, width: number, height: number, channels: number): Buffer {
  const rowBytes = width * channels;
  const out = Buffer.alloc(height * (rowBytes + 1));
  const candidates = [0, 1, 2, 3, 4].map(() => Buffer.alloc(rowBytes));
  for (let y = 0; y < height; y++) {
    const row = pixels.subarray(y * rowBytes, (y + 1) * rowBytes);
    const above = y > 0 ? pixels.subarray((y - 1) * rowBytes, y * rowBytes) : undefined;
    let bestFilter = 0;
    let bestScore = Number.POSITIVE_INFINITY;
    candidates.forEach((candidate, filter) => {
      const score = filterRow(filter, row, above, channels, candidate);
      if (score < bestScore) {
        bestScore = score;
        bestFilter = filter;
      }
    });
    const target = y * (rowBytes + 1);
    out[target] = bestFilter;
    candidates[bestFilter]?.copy(out, target + 1);
  }
  return out;
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
  let pixels: Uint8Array = data;
  if (opaque) {
    pixels = new Uint8Array(width * height * 3);
    for (let source = 0, target = 0; source < data.length; source += 4, target += 3) {
      pixels[target] = data[source] ?? 0;
      pixels[target + 1] = data[source + 1] ?? 0;
      pixels[target + 2] = data[source + 2] ?? 0;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = opaque ? 2 : 6;
  const compressed = deflateSync(filterRows(pixels, width, height, opaque ? 3 : 4));
  return Buffer.concat([SIGNATURE, chunk("IHDR", header), chunk("IDAT", compressed), chunk("IEND", Buffer.alloc(0))]);
}
