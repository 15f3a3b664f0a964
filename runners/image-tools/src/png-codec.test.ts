import { crc32, deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createImage, pixelAt, type RgbaImage } from "./image-ops.js";
import { decodePng, encodePng, isPng, PngError } from "./png-codec.js";

// Written by ImageMagick 6.9 (an independent encoder) from the pixel formulas below, each in the
// colour type, bit depth and interlacing its name says (checked with `identify -verbose`).
const IMAGEMAGICK_FIXTURES = {
  rgba16Interlaced:
    "iVBORw0KGgoAAAANSUhEUgAAAAsAAAAJEAYAAAHD8zr4AAAA1UlEQVQoz62QMQ6CUBBE5xvarU02IfEEVFRUHMOCA/wDcBAO4gGMJ6AgoaOjoyCxs6Nai+FHJSKJWr1kd3b+/HEAAJidz4D3QASMo/cce5/nKAogTc123BwODijLNDXjpqoCXZIAqmEBBEa8qGuAysDF4ngkx9EBWaZqRsth2OLsxNyqdFQ9nd6zadx+D4iEF4A1Roxyu/FyGNa4EHbda5QHV4SXyzLrhpA9qlaVA+JYxIyfmqZ/cU7AWkWYROR6/ZUrxmxTpO+/5YYxOxRp289kt8/zOxTLu02zA0GXAAAAAElFTkSuQmCC",
  rgb8Interlaced:
    "iVBORw0KGgoAAAANSUhEUgAAAAsAAAAJCAIAAAEcAXHsAAAAWUlEQVQY062LsQnAMAwET8GtaoMhK7hS5Vk0gAbwcBnJY6RwYzeGQOCKf+4f4CESIyBw7GKE0M0xx6RSZkp0A2NNQiuVjSnLimR0n7TNf+3CrZkT86EH/li8byAVaqvpVaYAAAAASUVORK5CYII=",
  palette4Transparent:
    "iVBORw0KGgoAAAANSUhEUgAAAAcAAAAFBAMAAAB7tOvrAAAAHlBMVEUAAAD/AAAA/wAAAP///wAA////AP+AQCAKFB7IyMjyaFegAAAAAXRSTlMAQObYZgAAACBJREFUCNdjEDIJK2AwCauYwADEAgwVE4QMGCYImQQAAFGpBn3QSzpvAAAAAElFTkSuQmCC",
  gray1: "iVBORw0KGgoAAAANSUhEUgAAAAkAAAADAQAAAABpcRjbAAAAEUlEQVQI12MIZWBY1cAQygAACK0B1YmPA00AAAAASUVORK5CYII=",
  grayAlpha8:
    "iVBORw0KGgoAAAANSUhEUgAAAAYAAAAECAQAAAAHDYbIAAAAFUlEQVQI12NkYNCAQxaGAAY4wM0BADtIAcbSp3I+AAAAAElFTkSuQmCC",
  gray16: "iVBORw0KGgoAAAANSUhEUgAAAAUAAAACEAAAAADlkZXCAAAAEUlEQVQI12NkYLCBAiYGOAAAHVIB5C9zof8AAAAASUVORK5CYII=",
};

type Pixel = [number, number, number, number];
const PALETTE: [number, number, number][] = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [255, 255, 0],
  [0, 255, 255],
  [255, 0, 255],
  [128, 64, 32],
  [10, 20, 30],
  [200, 200, 200],
];
const EXPECTED: Record<
  keyof typeof IMAGEMAGICK_FIXTURES,
  { width: number; height: number; pixel: (x: number, y: number) => Pixel }
> = {
  rgba16Interlaced: {
    width: 11,
    height: 9,
    pixel: (x, y) => [(x * 23) % 256, (y * 29) % 256, ((x + y) * 13) % 256, 255 - ((x * y * 7) % 256)],
  },
  rgb8Interlaced: {
    width: 11,
    height: 9,
    pixel: (x, y) => [(x * 23) % 256, (y * 29) % 256, ((x + y) * 13) % 256, 255],
  },
  palette4Transparent: {
    width: 7,
    height: 5,
    pixel: (x, y) => {
      const index = (x + 2 * y) % 10;
      const color = PALETTE[index];
      return color ? [...color, 255] : [0, 0, 0, 0];
    },
  },
  gray1: { width: 9, height: 3, pixel: (x, y) => ((x + y) % 2 ? [255, 255, 255, 255] : [0, 0, 0, 255]) },
  grayAlpha8: { width: 6, height: 4, pixel: (x, y) => [x * 40, x * 40, x * 40, y * 80] },
  gray16: { width: 5, height: 2, pixel: (x) => [x * 60, x * 60, x * 60, 255] },
};

function pixels(image: RgbaImage): Pixel[] {
  const all: Pixel[] = [];
  for (let y = 0; y < image.height; y++) for (let x = 0; x < image.width; x++) all.push(pixelAt(image, x, y));
  return all;
}

/** Splits a PNG into its chunks so tests can rebuild or corrupt one. */
function chunksOf(png: Buffer): { type: string; data: Buffer }[] {
  const chunks: { type: string; data: Buffer }[] = [];
  for (let offset = 8; offset < png.length; ) {
    const length = png.readUInt32BE(offset);
    chunks.push({
      type: png.toString("latin1", offset + 4, offset + 8),
      data: png.subarray(offset + 8, offset + 8 + length),
    });
    offset += 12 + length;
  }
  return chunks;
}

describe("decodePng on ImageMagick files", () => {
  for (const [name, base64] of Object.entries(IMAGEMAGICK_FIXTURES)) {
    it(`decodes ${name} to the pixels it was made from`, () => {
      const expected = EXPECTED[name as keyof typeof IMAGEMAGICK_FIXTURES];
      const image = decodePng(Buffer.from(base64, "base64"));
      expect({ width: image.width, height: image.height }).toEqual({ width: expected.width, height: expected.height });
      const want: Pixel[] = [];
      for (let y = 0; y < expected.height; y++)
        for (let x = 0; x < expected.width; x++) want.push(expected.pixel(x, y));
      expect(pixels(image)).toEqual(want);
    });
  }
});

describe("encodePng", () => {
  it("round-trips an image with varied alpha exactly, as RGBA", () => {
    const image = createImage(13, 7);
    for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 37 + (i >> 2) * 11) % 256;
    const png = encodePng(image);
    expect(isPng(png)).toBe(true);
    expect(png[25]).toBe(6); // colour type RGBA
    const decoded = decodePng(png);
    expect(decoded.width).toBe(13);
    expect(decoded.height).toBe(7);
    expect(Buffer.from(decoded.data).equals(Buffer.from(image.data))).toBe(true);
  });

  it("writes an opaque image as RGB and keeps its pixels", () => {
    const image = createImage(4, 4);
    for (let i = 0; i < image.data.length; i += 4) image.data.set([i, 255 - i, 7, 255], i);
    const png = encodePng(image);
    expect(png[25]).toBe(2); // colour type RGB
    expect(Buffer.from(decodePng(png).data).equals(Buffer.from(image.data))).toBe(true);
  });
});

describe("decodePng rejects broken files", () => {
  const good = encodePng(createImage(2, 2));

  it("refuses a file that is not a PNG", () => {
    expect(isPng(Buffer.from("GIF89a......"))).toBe(false);
    expect(() => decodePng(Buffer.from("GIF89a......"))).toThrow(PngError);
  });

  it("refuses a chunk with a bad CRC", () => {
    const corrupt = Buffer.from(good);
    corrupt[20] = (corrupt[20] ?? 0) ^ 0xff; // inside IHDR's data
    expect(() => decodePng(corrupt)).toThrow(/bad CRC/);
  });

  /** A PNG of `good`'s signature and IHDR (patched by `patch`) with the given IDAT payload. */
  function withImageData(idat: Buffer, patch: (ihdr: Buffer) => void = () => {}): Buffer {
    const ihdr = Buffer.from(chunksOf(good)[0]?.data ?? Buffer.alloc(0));
    patch(ihdr);
    const chunk = (type: string, data: Buffer) => {
      const out = Buffer.alloc(12 + data.length);
      out.writeUInt32BE(data.length, 0);
      out.write(type, 4, "latin1");
      data.copy(out, 8);
      out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
      return out;
    };
    return Buffer.concat([
      good.subarray(0, 8),
      chunk("IHDR", ihdr),
      chunk("IDAT", idat),
      chunk("IEND", Buffer.alloc(0)),
    ]);
  }

  it("refuses truncated image data (pngjs alone would fill it with zeros)", () => {
    const rows = deflateSync(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8])); // one row of a 2×2 RGBA image
    expect(() => decodePng(withImageData(rows))).toThrow(/truncated/);
  });

  it("refuses interlaced image data that inflates far past the size its header implies", () => {
    const bomb = deflateSync(Buffer.alloc(16 * 1024 * 1024)); // ~16 kB of zlib for a 2×2 image
    const interlaced = (ihdr: Buffer) => {
      ihdr[12] = 1;
    };
    expect(() => decodePng(withImageData(bomb, interlaced))).toThrow(/does not inflate/);
  });

  it("accepts bytes after IEND, which pngjs alone refuses", () => {
    const image = createImage(3, 2);
    image.data.fill(90);
    const decoded = decodePng(Buffer.concat([encodePng(image), Buffer.from("trailing")]));
    expect(Buffer.from(decoded.data).equals(Buffer.from(image.data))).toBe(true);
  });

  it("refuses an image over the size limit before inflating it", () => {
    expect(() => decodePng(encodePng(createImage(9, 2)), { maxWidth: 8, maxHeight: 8 })).toThrow(/over the limit/);
    expect(decodePng(encodePng(createImage(8, 2)), { maxWidth: 8, maxHeight: 8 }).width).toBe(8);
  });
});
