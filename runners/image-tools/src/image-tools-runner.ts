// vyvo/image-tools: load a PNG (or draw a test pattern), apply one operation, write a PNG.
import { stat, writeFile } from "node:fs/promises";
import { InputError, type RunContext, type RunnerDefinition } from "../../sdk/src/runner.js";
import { drawTestPattern, gaussianBlur, grayscale, type RgbaImage, resize, thumbnail } from "./image-ops.js";
import { loadImageBytes } from "./image-source.js";
import { DEFAULT_SIGMA, DEFAULT_THUMBNAIL_SIZE, type ImageToolsInput, MAX_DIMENSION } from "./input-schema.js";
import { decodePng, encodePng, isPng, PngError } from "./png-codec.js";
import { validateInput } from "./validate-input.js";

export const TEST_PATTERN_SIZE = 512;

export type ImageToolsOutput = {
  images: {
    url: string;
    width: number;
    height: number;
    content_type: "image/png";
    file_name: string;
    file_size: number;
  }[];
};

/** Progress of the operation itself spans 0.1..0.9; loading and encoding take the ends. */
function operationCheckpoint(ctx: RunContext, label: string): (fraction: number) => Promise<void> {
  let lastReported = -1;
  let lastYield = Date.now();
  return async (fraction) => {
    const percent = Math.floor(fraction * 100);
    if (percent >= lastReported + 5) {
      lastReported = percent;
      ctx.progress(0.1 + 0.8 * fraction, `${label} ${percent}%`);
    }
    // Yielding every row costs little, but only matters every few milliseconds.
    if (Date.now() - lastYield >= 5) {
      lastYield = Date.now();
      await ctx.checkpoint();
    }
  };
}

async function loadSource(input: ImageToolsInput, ctx: RunContext): Promise<RgbaImage> {
  if (input.image_url === undefined) {
    const pattern = drawTestPattern(TEST_PATTERN_SIZE, TEST_PATTERN_SIZE);
    ctx.log("info", `no image_url: drew a ${pattern.width}×${pattern.height} test pattern`);
    return pattern;
  }
  const { bytes, origin } = await loadImageBytes(input.image_url, ctx.signal);
  ctx.log("info", `fetched ${bytes.length} bytes from ${origin}`);
  if (!isPng(bytes)) {
    throw new InputError([
      { loc: ["body", "image_url"], msg: "The file is not a PNG image", type: "image_load_error" },
    ]);
  }
  try {
    const image = decodePng(bytes, { maxWidth: MAX_DIMENSION, maxHeight: MAX_DIMENSION });
    ctx.log("info", `decoded ${image.width}×${image.height} PNG`);
    return image;
  } catch (error) {
    if (!(error instanceof PngError)) throw error;
    throw new InputError([
      { loc: ["body", "image_url"], msg: `Could not decode the PNG: ${error.message}`, type: "image_load_error" },
    ]);
  }
}

async function applyOperation(image: RgbaImage, input: ImageToolsInput, ctx: RunContext): Promise<RgbaImage> {
  switch (input.operation) {
    case "resize": {
      // validateInput guarantees both for resize.
      const width = input.width ?? image.width;
      const height = input.height ?? image.height;
      const result = await resize(image, width, height, operationCheckpoint(ctx, "resize"));
      ctx.log("info", `resized ${image.width}×${image.height} to ${result.width}×${result.height}`);
      return result;
    }
    case "thumbnail": {
      const box = { width: input.width ?? DEFAULT_THUMBNAIL_SIZE, height: input.height ?? DEFAULT_THUMBNAIL_SIZE };
      const result = await thumbnail(image, box.width, box.height, operationCheckpoint(ctx, "thumbnail"));
      ctx.log(
        "info",
        `thumbnail of ${image.width}×${image.height} inside ${box.width}×${box.height}: ${result.width}×${result.height}`,
      );
      return result;
    }
    case "blur": {
      const sigma = input.sigma ?? DEFAULT_SIGMA;
      const result = await gaussianBlur(image, sigma, operationCheckpoint(ctx, "blur"));
      ctx.log("info", `applied gaussian blur (sigma ${sigma}) to ${image.width}×${image.height}`);
      return result;
    }
    case "grayscale": {
      const result = grayscale(image);
      ctx.log("info", `converted ${image.width}×${image.height} to grayscale`);
      return result;
    }
  }
}

export const imageToolsRunner: RunnerDefinition<ImageToolsInput, ImageToolsOutput> = {
  name: "vyvo/image-tools",
  validate: validateInput,
  async run(input, ctx) {
    ctx.progress(0, "loading image");
    const source = await loadSource(input, ctx);
    ctx.progress(0.1, `applying ${input.operation}`);
    await ctx.checkpoint();
    const result = await applyOperation(source, input, ctx);
    ctx.progress(0.9, "encoding PNG");
    await ctx.checkpoint();
    const png = encodePng(result);
    const fileName = `${input.operation}.png`;
    const filePath = ctx.outputFile(fileName);
    await writeFile(filePath, png);
    ctx.log("info", `encoded ${png.length} bytes of PNG as ${fileName}`);
    ctx.progress(1, "done");
    const { size } = await stat(filePath);
    return {
      images: [
        {
          url: ctx.fileUrl(filePath),
          width: result.width,
          height: result.height,
          content_type: "image/png",
          file_name: fileName,
          file_size: size,
        },
      ],
    };
  },
};
