// A minimal runner to copy: it transforms text, logs and reports progress, honours cancellation,
// and returns a file. Replace `transformText` and the input with your model's.
//
// The SDK is imported by relative path, not as "@vyvo/runner-sdk": declaring that dependency
// would need an npm install to update the lockfile. Inside this repository both resolve to the
// same file; a runner kept elsewhere can copy runners/sdk/src or depend on the package.
import { writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { RunnerDefinition, ValidationIssue } from "../../sdk/src/runner.js";

export const TRANSFORMS = ["upper", "lower", "reverse", "title"] as const;
export type Transform = (typeof TRANSFORMS)[number];
const MAX_TEXT_LENGTH = 10_000;
const MAX_DELAY_MS = 60_000;
/** The run is split into this many steps so that progress and cancellation have something to show. */
const STEPS = 10;

export type TextInput = {
  text: string;
  transform?: Transform;
  /** Simulated model latency, spread over the steps. */
  delay_ms?: number;
};

export type TextOutput = {
  text: string;
  length: number;
  file: { url: string; content_type: string; file_name: string; file_size: number };
};

/** Register this on the model version; the server checks submissions against it (Ajv, draft-07). */
export const inputSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  type: "object",
  properties: {
    text: { type: "string", minLength: 1, maxLength: MAX_TEXT_LENGTH },
    transform: { type: "string", enum: [...TRANSFORMS], default: "upper" },
    delay_ms: { type: "integer", minimum: 0, maximum: MAX_DELAY_MS, default: 0 },
  },
  required: ["text"],
  additionalProperties: false,
} as const;

/** The same rules as inputSchema, as fal-style detail entries. */
export function validateInput(input: Record<string, unknown>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const key of Object.keys(input)) {
    if (!(key in inputSchema.properties))
      issues.push({ loc: ["body", key], msg: "Extra inputs are not permitted", type: "extra_forbidden" });
  }
  const { text, transform, delay_ms: delayMs } = input;
  if (text === undefined) issues.push({ loc: ["body", "text"], msg: "Field required", type: "missing" });
  else if (typeof text !== "string")
    issues.push({ loc: ["body", "text"], msg: "Input should be a valid string", type: "string_type" });
  else if (text.length < 1 || text.length > MAX_TEXT_LENGTH) {
    issues.push({
      loc: ["body", "text"],
      msg: `String should have 1 to ${MAX_TEXT_LENGTH} characters`,
      type: "string_length",
    });
  }
  if (transform !== undefined && !(TRANSFORMS as readonly unknown[]).includes(transform)) {
    issues.push({
      loc: ["body", "transform"],
      msg: `Input should be ${TRANSFORMS.map((t) => `'${t}'`).join(", ")}`,
      type: "literal_error",
    });
  }
  if (
    delayMs !== undefined &&
    (typeof delayMs !== "number" || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS)
  ) {
    issues.push({
      loc: ["body", "delay_ms"],
      msg: `Input should be an integer from 0 to ${MAX_DELAY_MS}`,
      type: "int_range",
    });
  }
  return issues;
}

/** The "model": pure, so it is tested without a server. Reverses by code point, not by UTF-16 unit. */
export function transformText(text: string, transform: Transform): string {
  switch (transform) {
    case "upper":
      return text.toUpperCase();
    case "lower":
      return text.toLowerCase();
    case "reverse":
      return Array.from(text).reverse().join("");
    case "title":
      return text
        .toLowerCase()
        .replace(/(^|\s)(\p{L})/gu, (_match, space: string, letter: string) => space + letter.toUpperCase());
  }
}

export const textRunner: RunnerDefinition<TextInput, TextOutput> = {
  name: "vyvo/template",
  // Load weights here; /health answers 503 "loading" until this resolves.
  setup: async () => {},
  validate: validateInput,
  async run(input, ctx) {
    const transform = input.transform ?? "upper";
    ctx.log("info", `received ${input.text.length} characters to ${transform}`);
    const delayMs = input.delay_ms ?? 0;
    for (let step = 1; step <= STEPS; step++) {
      // Passing the signal makes the wait end at once when the run is cancelled.
      await sleep(delayMs / STEPS, undefined, { signal: ctx.signal });
      ctx.progress(step / STEPS, `step ${step}/${STEPS}`);
    }
    const text = transformText(input.text, transform);
    const fileName = "result.txt";
    const filePath = ctx.outputFile(fileName);
    await writeFile(filePath, text);
    const fileSize = Buffer.byteLength(text);
    ctx.log("info", `wrote ${fileSize} bytes to ${fileName}`);
    return {
      text,
      length: Array.from(text).length,
      file: {
        url: ctx.fileUrl(filePath),
        content_type: "text/plain; charset=utf-8",
        file_name: fileName,
        file_size: fileSize,
      },
    };
  },
};
