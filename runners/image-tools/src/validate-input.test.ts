// Ajv is the server's dependency (hoisted to the root node_modules); the server validates
// submissions against inputSchema with it, so this test checks that schema and runner agree.
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { inputSchema } from "./input-schema.js";
import { validateInput } from "./validate-input.js";

const CASES: { name: string; input: Record<string, unknown>; valid: boolean }[] = [
  { name: "grayscale alone", input: { operation: "grayscale" }, valid: true },
  { name: "resize with both sizes", input: { operation: "resize", width: 64, height: 4096 }, valid: true },
  { name: "blur with sigma 50", input: { operation: "blur", sigma: 50 }, valid: true },
  { name: "blur with a fractional sigma", input: { operation: "blur", sigma: 0.01 }, valid: true },
  { name: "thumbnail with defaults", input: { operation: "thumbnail" }, valid: true },
  { name: "thumbnail with a box", input: { operation: "thumbnail", width: 1, height: 1 }, valid: true },
  { name: "an https URL", input: { operation: "grayscale", image_url: "https://example.com/a.png" }, valid: true },
  { name: "a data URI", input: { operation: "grayscale", image_url: "data:image/png;base64,AAAA" }, valid: true },
  { name: "no operation", input: {}, valid: false },
  { name: "an unknown operation", input: { operation: "sharpen" }, valid: false },
  { name: "resize without height", input: { operation: "resize", width: 10 }, valid: false },
  { name: "a width of 0", input: { operation: "thumbnail", width: 0 }, valid: false },
  { name: "a width over 4096", input: { operation: "resize", width: 4097, height: 10 }, valid: false },
  { name: "a fractional width", input: { operation: "resize", width: 10.5, height: 10 }, valid: false },
  { name: "a width given as a string", input: { operation: "resize", width: "10", height: 10 }, valid: false },
  { name: "sigma 0", input: { operation: "blur", sigma: 0 }, valid: false },
  { name: "sigma over 50", input: { operation: "blur", sigma: 50.5 }, valid: false },
  { name: "an ftp URL", input: { operation: "grayscale", image_url: "ftp://example.com/a.png" }, valid: false },
  { name: "a URL that is not a string", input: { operation: "grayscale", image_url: 5 }, valid: false },
  { name: "an extra field", input: { operation: "grayscale", prompt: "cat" }, valid: false },
];

describe("validateInput", () => {
  const ajv = new Ajv({ allErrors: true, strict: false }); // as the server configures it
  const serverCheck = ajv.compile(inputSchema);

  it("compiles under Ajv's default strict mode (no unknown keywords or formats)", () => {
    expect(() => new Ajv().compile(inputSchema)).not.toThrow();
  });

  for (const { name, input, valid } of CASES) {
    it(`${valid ? "accepts" : "rejects"} ${name}, as the schema does`, () => {
      expect(serverCheck(input)).toBe(valid);
      expect(validateInput(input).length === 0).toBe(valid);
    });
  }

  it("reports every fault with a fal-style loc, msg and type", () => {
    const issues = validateInput({ operation: "resize", width: 0, sigma: 99, colour: "red" });
    expect(issues).toEqual([
      { loc: ["body", "colour"], msg: "Extra inputs are not permitted", type: "extra_forbidden" },
      {
        loc: ["body", "width"],
        msg: "Input should be greater than or equal to 1",
        type: "greater_than_equal",
        ctx: { ge: 1 },
      },
      { loc: ["body", "height"], msg: "Field required for resize", type: "missing" },
      {
        loc: ["body", "sigma"],
        msg: "Input should be less than or equal to 50",
        type: "less_than_equal",
        ctx: { le: 50 },
      },
    ]);
  });

  it("names the allowed operations when the operation is unknown", () => {
    const [issue] = validateInput({ operation: "sharpen" });
    expect(issue?.type).toBe("literal_error");
    expect(issue?.msg).toBe("Input should be 'resize', 'blur', 'grayscale', 'thumbnail'");
  });
});
