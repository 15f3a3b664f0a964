import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { DomainError, type FieldIssue } from "../errors.js";

/**
 * Checks job input against a model version's JSON schema before anything is written.
 * Versions are immutable, so a compiled validator is cached by version id for good.
 */
export class InputValidator {
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  private readonly compiled = new Map<string, ValidateFunction>();

  /** Throws a DomainError("INVALID_SCHEMA") when the schema itself is not valid JSON Schema. */
  assertValidSchema(schema: unknown): void {
    if (schema === null || schema === undefined) return;
    if (!this.ajv.validateSchema(schema as object)) {
      throw new DomainError("INVALID_INPUT", `input schema is not valid JSON Schema: ${this.ajv.errorsText()}`);
    }
  }

  validate(versionId: string, schema: unknown, input: unknown): void {
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      throw new DomainError("INVALID_INPUT", "input must be a JSON object", [
        { loc: ["body"], msg: "Input should be a valid dictionary", type: "dict_type" },
      ]);
    }
    if (schema === null || schema === undefined) return;
    let validate = this.compiled.get(versionId);
    if (!validate) {
      validate = this.ajv.compile(schema as object);
      this.compiled.set(versionId, validate);
    }
    if (!validate(input)) {
      const issues = (validate.errors ?? []).map(toFieldIssue);
      throw new DomainError("INVALID_INPUT", `input does not match the model's schema: ${describe(issues)}`, issues);
    }
  }
}

function toFieldIssue(error: ErrorObject): FieldIssue {
  const path = error.instancePath
    .split("/")
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part.replaceAll("~1", "/").replaceAll("~0", "~")));
  const params = error.params as Record<string, unknown>;
  if (error.keyword === "required") path.push(String(params.missingProperty));
  if (error.keyword === "additionalProperties") path.push(String(params.additionalProperty));
  return { loc: ["body", ...path], msg: error.message ?? "invalid", type: error.keyword };
}

function describe(issues: FieldIssue[]): string {
  return issues.map((issue) => `${issue.loc.slice(1).join(".") || "input"} ${issue.msg}`).join("; ");
}
