import { describe, expect, it } from "vitest";
import {
  createImage,
  drawTestPattern,
  fitInside,
  gaussianBlur,
  grayscale,
  pixelAt,
  type RgbaImage,
  resize,
  TEST_PATTERN_BARS,
  thumbnail,
} from "./image-ops.js";

function filled(width: number, height: number, rgba: [number, number, number, number]): RgbaImage {
  const image = createImage(width, height);
  for (let i = 0; i < image.data.length; i += 4) image.data.set(rgba, i);
  return image;
}

function channelSum(image: RgbaImage, channel: number): number {
  let sum = 0;
  for (let i = channel; i < image.data.length; i += 4) sum += image.data[i] ?? 0;
  return sum;
}

describe("grayscale", () => {
  it("maps primaries to their Rec. 601 luma and keeps alpha", () => {
    const image = createImage(4, 1);
    image.data.set([255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0, 10, 20, 30, 255]);
    const gray = grayscale(image);
    expect(pixelAt(gray, 0, 0)).toEqual([76, 76, 76, 255]); // 0.299 × 255 = 76.2
    expect(pixelAt(gray, 1, 0)).toEqual([150, 150, 150, 128]); // 0.587 × 255 = 149.7
    expect(pixelAt(gray, 2, 0)).toEqual([29, 29, 29, 0]); // 0.114 × 255 = 29.1
    expect(pixelAt(gray, 3, 0)).toEqual([18, 18, 18, 255]); // 2.99 + 11.74 + 3.42 = 18.15
  });
});

describe("gaussianBlur", () => {
  it("leaves a flat image unchanged, so its mean is preserved", async () => {
    const flat = filled(31, 17, [10, 200, 30, 255]);
    const blurred = await gaussianBlur(flat, 3);
    expect(Buffer.from(blurred.data).equals(Buffer.from(flat.data))).toBe(true);
  });

  it("spreads a point into a symmetric bell that keeps its total (away from the edges)", async () => {
    const image = filled(41, 41, [0, 0, 0, 255]);
    image.data.set([255, 255, 255, 255], (20 * 41 + 20) * 4);
    const blurred = await gaussianBlur(image, 1.5);
    const [centre] = pixelAt(blurred, 20, 20);
    const [right] = pixelAt(blurred, 21, 20);
    const [left] = pixelAt(blurred, 19, 20);
    const [below] = pixelAt(blurred, 20, 21);
    // Peak of a 2-D Gaussian with σ = 1.5 holding 255: 255 / (2π σ²) ≈ 18.0
    expect(centre).toBeGreaterThanOrEqual(17);
    expect(centre).toBeLessThanOrEqual(19);
    expect(right).toBe(left);
    expect(right).toBe(below);
    expect(right).toBeLessThan(centre);
    expect(pixelAt(blurred, 0, 0)[0]).toBe(0);
    expect(Math.abs(channelSum(blurred, 0) - 255)).toBeLessThanOrEqual(12); // rounding of ~50 pixels
  });

  it("does not bleed the colour of transparent pixels into opaque ones", async () => {
    const image = createImage(9, 1);
    for (let x = 0; x < 9; x++) image.data.set(x < 4 ? [255, 0, 0, 0] : [0, 0, 255, 255], x * 4);
    const blurred = await gaussianBlur(image, 1);
    const [red, , blue, alpha] = pixelAt(blurred, 4, 0);
    expect(red).toBe(0);
    expect(blue).toBe(255);
    expect(alpha).toBeLessThan(255);
    expect(alpha).toBeGreaterThan(128);
  });

  it("reports progress up to 1 through the checkpoint, and stops when it throws", async () => {
    const seen: number[] = [];
    await gaussianBlur(filled(8, 6, [1, 2, 3, 255]), 1, (fraction) => {
      seen.push(fraction);
    });
    expect(seen).toHaveLength(12); // 6 rows each pass
    expect(seen.at(-1)).toBe(1);
    await expect(
      gaussianBlur(filled(8, 6, [1, 2, 3, 255]), 1, (fraction) => {
        if (fraction > 0.3) throw new Error("stop");
      }),
    ).rejects.toThrow("stop");
  });

  it("rejects a sigma that is not positive", async () => {
    await expect(gaussianBlur(createImage(2, 2), 0)).rejects.toThrow(RangeError);
  });
});

describe("resize", () => {
  it("gives the requested size and keeps the corner colours when enlarging (bilinear)", async () => {
    const image = createImage(2, 2);
    image.data.set([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255]);
    const big = await resize(image, 6, 4);
    expect([big.width, big.height]).toEqual([6, 4]);
    expect(pixelAt(big, 0, 0)).toEqual([255, 0, 0, 255]);
    expect(pixelAt(big, 5, 0)).toEqual([0, 255, 0, 255]);
    expect(pixelAt(big, 0, 3)).toEqual([0, 0, 255, 255]);
    expect(pixelAt(big, 5, 3)).toEqual([255, 255, 255, 255]);
    // Between red and green at x = 2: source position 2.5 × (2/6) - 0.5 = 0.333 → 2/3 red, 1/3 green.
    expect(pixelAt(big, 2, 0)).toEqual([170, 85, 0, 255]);
  });

  it("averages whole blocks when shrinking by an integer factor (area)", async () => {
    const image = createImage(4, 2);
    // Left 2×2 block: 0, 100, 200, 100 → mean 100. Right block: all 40.
    const values = [0, 100, 40, 40, 200, 100, 40, 40];
    values.forEach((value, i) => {
      image.data.set([value, value, value, 255], i * 4);
    });
    const small = await resize(image, 2, 1);
    expect(pixelAt(small, 0, 0)).toEqual([100, 100, 100, 255]);
    expect(pixelAt(small, 1, 0)).toEqual([40, 40, 40, 255]);
  });

  it("weights partly covered pixels by their share when the factor is not whole", async () => {
    const image = createImage(3, 1);
    [0, 90, 180].forEach((value, i) => {
      image.data.set([value, value, value, 255], i * 4);
    });
    const small = await resize(image, 2, 1);
    // Output 0 covers source [0, 1.5): (0 × 1 + 90 × 0.5) / 1.5 = 30; output 1 covers [1.5, 3): 150.
    expect(pixelAt(small, 0, 0)[0]).toBe(30);
    expect(pixelAt(small, 1, 0)[0]).toBe(150);
  });

  it("returns the same pixels when the size does not change", async () => {
    const pattern = drawTestPattern(16, 8);
    const same = await resize(pattern, 16, 8);
    expect(Buffer.from(same.data).equals(Buffer.from(pattern.data))).toBe(true);
  });
});

describe("thumbnail", () => {
  it("fits inside the box keeping the aspect ratio, and never enlarges", () => {
    expect(fitInside(512, 256, 128, 128)).toEqual({ width: 128, height: 64 });
    expect(fitInside(300, 900, 100, 100)).toEqual({ width: 33, height: 100 });
    expect(fitInside(50, 40, 128, 128)).toEqual({ width: 50, height: 40 });
    expect(fitInside(4096, 1, 16, 16)).toEqual({ width: 16, height: 1 });
  });

  it("produces the fitted size with the bars of the source", async () => {
    const thumb = await thumbnail(drawTestPattern(512, 256), 64, 64);
    expect([thumb.width, thumb.height]).toEqual([64, 32]);
    expect(pixelAt(thumb, 4, 4)).toEqual([255, 255, 255, 255]); // middle of the white bar
    expect(pixelAt(thumb, 44, 4)).toEqual([255, 0, 0, 255]); // middle of the red bar
  });
});

describe("drawTestPattern", () => {
  it("draws the eight bars over a black-to-white ramp", () => {
    const pattern = drawTestPattern(512, 512);
    TEST_PATTERN_BARS.forEach((color, bar) => {
      expect(pixelAt(pattern, bar * 64 + 32, 100)).toEqual([...color, 255]);
    });
    expect(pixelAt(pattern, 0, 500)).toEqual([0, 0, 0, 255]);
    expect(pixelAt(pattern, 511, 500)).toEqual([255, 255, 255, 255]);
    const ramp = Array.from({ length: 512 }, (_, x) => pixelAt(pattern, x, 450)[0]);
    expect(ramp.every((value, x) => x === 0 || value >= (ramp[x - 1] ?? 0))).toBe(true);
  });
});
