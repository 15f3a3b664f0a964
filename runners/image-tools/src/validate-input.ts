// The runner's own check of its input, with fal-style (pydantic v2) detail entries. It mirrors
// inputSchema; the server's Ajv check normally catches the same faults before the job is queued.
import type { ValidationIssue } from "../../sdk/src/protocol.js";
import { inputSchema, MAX_DIMENSION, MAX_SIGMA, OPERATIONS } from "./input-schema.js";

const KNOWN_FIELDS = new Set(Object.keys(inputSchema.properties));

function checkDimension(input: Record<string, unknown>, field: "width" | "height", issues: ValidationIssue[]): void {
  const value = input[field];
  if (value === undefined) return;
  const loc = ["body", field];
  if (typeof value !== "number" || !Number.isInteger(value)) {
    issues.push({ loc, msg: "Input should be a valid integer", type: "int_type" });
  } else if (value < 1) {
    issues.push({ loc, msg: "Input should be greater than or equal to 1", type: "greater_than_equal", ctx: { ge: 1 } });
  } else if (value > MAX_DIMENSION) {
    issues.push({
      loc,
      msg: `Input should be less than or equal to ${MAX_DIMENSION}`,
      type: "less_than_equal",
      ctx: { le: MAX_DIMENSION },
    });
  }
}

export function validateInput(input: Record<string, unknown>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const field of Object.keys(input)) {
    if (!KNOWN_FIELDS.has(field)) {
      issues.push({ loc: ["body", field], msg: "Extra inputs are not permitted", type: "extra_forbidden" });
    }
  }

  const operation = input.operation;
  if (operation === undefined) {
    issues.push({ loc: ["body", "operation"], msg: "Field required", type: "missing" });
  } else if (typeof operation !== "string" || !(OPERATIONS as readonly string[]).includes(operation)) {
    const expected = OPERATIONS.map((name) => `'${name}'`).join(", ");
    issues.push({
      loc: ["body", "operation"],
      msg: `Input should be ${expected}`,
      type: "literal_error",
      ctx: { expected },
    });
  }

  const imageUrl = input.image_url;
  if (imageUrl !== undefined) {
    if (typeof imageUrl !== "string") {
      issues.push({ loc: ["body", "image_url"], msg: "Input should be a valid string", type: "string_type" });
    } else if (!/^(https?:\/\/|data:)/.test(imageUrl)) {
      issues.push({
        loc: ["body", "image_url"],
        msg: "URL should be an http(s) URL or a data: URI",
        type: "url_scheme",
      });
    }
  }

  checkDimension(input, "width", issues);
  checkDimension(input, "height", issues);
  if (operation === "resize") {
    for (const field of ["width", "height"] as const) {
      if (input[field] === undefined)
        issues.push({ loc: ["body", field], msg: "Field required for resize", type: "missing" });
    }
  }

  const sigma = input.sigma;
  if (sigma !== undefined) {
    const loc = ["body", "sigma"];
    if (typeof sigma !== "number" || !Number.isFinite(sigma)) {
      issues.push({ loc, msg: "Input should be a valid number", type: "float_type" });
    } else if (sigma <= 0) {
      issues.push({ loc, msg: "Input should be greater than 0", type: "greater_than", ctx: { gt: 0 } });
    } else if (sigma > MAX_SIGMA) {
      issues.push({
        loc,
        msg: `Input should be less than or equal to ${MAX_SIGMA}`,
        type: "less_than_equal",
        ctx: { le: MAX_SIGMA },
      });
    }
  }
  return issues;
}
