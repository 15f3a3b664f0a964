// The input of vyvo/image-tools. The server registers `inputSchema` on the model version and
// checks submissions with Ajv before queueing; the runner checks again with `validateInput`
// (validate-input.ts), which must agree with this schema (a test holds them together).

export const OPERATIONS = ["resize", "blur", "grayscale", "thumbnail"] as const;
export type Operation = (typeof OPERATIONS)[number];

export const MAX_DIMENSION = 4096;
export const MAX_SIGMA = 50;
export const DEFAULT_SIGMA = 2;
export const DEFAULT_THUMBNAIL_SIZE = 128;

// A type alias, not an interface, so that it is assignable to the SDK's JSON object type.
export type ImageToolsInput = {
  /** http(s) URL or `data:` URI of a PNG; without it the runner draws a 512×512 test pattern. */
  image_url?: string;
  operation: Operation;
  width?: number;
  height?: number;
  sigma?: number;
};

const dimension = (what: string) =>
  ({
    type: "integer",
    minimum: 1,
    maximum: MAX_DIMENSION,
    description: `${what} in pixels. Required for resize; for thumbnail the box to fit in (default ${DEFAULT_THUMBNAIL_SIZE}).`,
  }) as const;

// No $id: the server compiles every version's schema into one Ajv instance, where a repeated $id throws.
export const inputSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "vyvo/image-tools input",
  type: "object",
  properties: {
    image_url: {
      type: "string",
      pattern: "^(https?://|data:)",
      description: "http(s) URL or data: URI of a PNG image. Without it, a 512×512 test pattern is used.",
    },
    operation: {
      type: "string",
      enum: [...OPERATIONS],
      description:
        "resize to width×height; gaussian blur by sigma; grayscale (Rec. 601 luma); thumbnail to fit inside width×height.",
    },
    width: dimension("Width"),
    height: dimension("Height"),
    sigma: {
      type: "number",
      exclusiveMinimum: 0,
      maximum: MAX_SIGMA,
      default: DEFAULT_SIGMA,
      description: "Standard deviation of the blur, in pixels.",
    },
  },
  required: ["operation"],
  additionalProperties: false,
  allOf: [
    {
      if: { properties: { operation: { const: "resize" } }, required: ["operation"] },
      // biome-ignore lint/suspicious/noThenProperty: `then` is JSON Schema's keyword here, not a thenable
      then: { required: ["width", "height"] },
    },
  ],
} as const;
