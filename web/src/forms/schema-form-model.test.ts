import { describe, expect, it } from "vitest";
import { inputSchema } from "../../../runners/image-tools/src/input-schema";
import { buildInput, fieldsFromSchema, initialValues } from "./schema-form-model";

describe("a form from the vyvo/image-tools input schema", () => {
  const fields = fieldsFromSchema(inputSchema);

  it("has an operation select, numbers for width/height/sigma and a text field for image_url", () => {
    expect(fields?.map((f) => [f.name, f.kind, f.required])).toEqual([
      ["operation", "select", true],
      ["width", "integer", false],
      ["height", "integer", false],
      ["sigma", "number", false],
      ["image_url", "string", false],
    ]);
    expect(fields?.find((f) => f.name === "operation")?.options).toEqual(["resize", "blur", "grayscale", "thumbnail"]);
    expect(fields?.find((f) => f.name === "width")).toMatchObject({ min: 1, max: 4096 });
  });

  it("starts on the first operation and builds an input without the empty fields", () => {
    const values = initialValues(fields ?? []);
    expect(values.operation).toBe("resize");
    expect(buildInput(fields ?? [], { ...values, operation: "thumbnail", width: "64", height: " 48 " })).toEqual({
      input: { operation: "thumbnail", width: 64, height: 48 },
      errors: {},
    });
  });

  it("says what is wrong with a field before the server does", () => {
    const { errors } = buildInput(fields ?? [], {
      operation: "blur",
      width: "1.5",
      height: "0",
      sigma: "0",
      image_url: "ftp://x",
    });
    expect(errors).toEqual({
      width: "must be a whole number",
      height: "must be at least 1",
      sigma: "must be greater than 0",
      image_url: "must match ^(https?://|data:)",
    });
  });

  it("falls back to a JSON editor for schemas without properties", () => {
    expect(fieldsFromSchema(null)).toBeNull();
    expect(fieldsFromSchema({ type: "array" })).toBeNull();
  });
});
