/**
 * A form from a model version's input JSON Schema: one field per top-level property, chosen by
 * type (enum → select, integer/number → number input, boolean → checkbox, string → text, anything
 * else → JSON). Pure, so it is tested without a browser. The server validates the input again
 * with the full schema (if/then, patterns); its field issues are shown beside the fields.
 */
export type FieldKind = "select" | "integer" | "number" | "boolean" | "string" | "json";

export interface FieldSpec {
  name: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  description?: string;
  options?: string[];
  min?: number;
  max?: number;
  /** exclusiveMinimum: the value must be greater. */
  above?: number;
  pattern?: string;
  defaultValue?: unknown;
}

/** What the inputs hold: text for text and number inputs, booleans for checkboxes. */
export type FormValues = Record<string, string | boolean>;

type Schema = Record<string, unknown>;

const isObject = (value: unknown): value is Schema =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const numberOr = (value: unknown) => (typeof value === "number" ? value : undefined);

/** Where a kind of field goes in the form: choices first, then numbers and switches, then free text. */
const KIND_ORDER: Record<FieldKind, number> = { select: 0, integer: 1, number: 1, boolean: 2, string: 3, json: 4 };

/**
 * Null when the schema is not an object schema with properties (then the form is a JSON editor).
 * Fields come required first, then by kind: the stored schema's key order is not the author's
 * (Postgres jsonb sorts keys), so it cannot be relied on.
 */
export function fieldsFromSchema(schema: unknown): FieldSpec[] | null {
  if (!isObject(schema) || !isObject(schema.properties)) return null;
  const required = new Set(
    Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === "string") : [],
  );
  const fields = Object.entries(schema.properties).map(([name, raw]) => {
    const property = isObject(raw) ? raw : {};
    const spec: FieldSpec = {
      name,
      label: typeof property.title === "string" ? property.title : humanize(name),
      kind: kindOf(property),
      required: required.has(name),
    };
    if (typeof property.description === "string") spec.description = property.description;
    if (Array.isArray(property.enum)) spec.options = property.enum.map(String);
    const min = numberOr(property.minimum);
    const max = numberOr(property.maximum);
    const above = numberOr(property.exclusiveMinimum);
    if (min !== undefined) spec.min = min;
    if (max !== undefined) spec.max = max;
    if (above !== undefined) spec.above = above;
    if (typeof property.pattern === "string") spec.pattern = property.pattern;
    if (property.default !== undefined) spec.defaultValue = property.default;
    return spec;
  });
  const rank = (field: FieldSpec) => (field.required ? 0 : 10) + KIND_ORDER[field.kind];
  return fields
    .map((field, i) => ({ field, i }))
    .sort((a, b) => rank(a.field) - rank(b.field) || a.i - b.i)
    .map(({ field }) => field);
}

function kindOf(property: Schema): FieldKind {
  if (Array.isArray(property.enum) && property.enum.every((v) => typeof v === "string")) return "select";
  switch (property.type) {
    case "integer":
      return "integer";
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "string":
      return "string";
    default:
      return "json";
  }
}

function humanize(name: string): string {
  const words = name
    .replace(/[_-]+/g, " ")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Starting values: a required select starts on its first option; everything else empty (defaults apply server-side). */
export function initialValues(fields: FieldSpec[]): FormValues {
  const values: FormValues = {};
  for (const field of fields) {
    if (field.kind === "boolean") values[field.name] = field.defaultValue === true;
    else if (field.kind === "select" && field.required)
      values[field.name] = String(field.defaultValue ?? field.options?.[0] ?? "");
    else values[field.name] = "";
  }
  return values;
}

export interface BuiltInput {
  input: Record<string, unknown>;
  errors: Record<string, string>;
}

/** Turns form values into the job input; empty optional fields are left out. */
export function buildInput(fields: FieldSpec[], values: FormValues): BuiltInput {
  const input: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const raw = values[field.name];
    if (field.kind === "boolean") {
      if (raw === true || field.required) input[field.name] = raw === true;
      continue;
    }
    const text = typeof raw === "string" ? raw.trim() : "";
    if (text === "") {
      if (field.required) errors[field.name] = "required";
      continue;
    }
    const parsed = parseField(field, text);
    if ("error" in parsed) errors[field.name] = parsed.error;
    else input[field.name] = parsed.value;
  }
  return { input, errors };
}

function parseField(field: FieldSpec, text: string): { value: unknown } | { error: string } {
  switch (field.kind) {
    case "integer":
    case "number": {
      const value = Number(text);
      if (!Number.isFinite(value)) return { error: "must be a number" };
      if (field.kind === "integer" && !Number.isInteger(value)) return { error: "must be a whole number" };
      if (field.min !== undefined && value < field.min) return { error: `must be at least ${field.min}` };
      if (field.max !== undefined && value > field.max) return { error: `must be at most ${field.max}` };
      if (field.above !== undefined && value <= field.above) return { error: `must be greater than ${field.above}` };
      return { value };
    }
    case "select":
      return field.options?.includes(text) ? { value: text } : { error: `must be one of ${field.options?.join(", ")}` };
    case "string":
      if (field.pattern) {
        try {
          if (!new RegExp(field.pattern).test(text)) return { error: `must match ${field.pattern}` };
        } catch {
          // A pattern JavaScript cannot compile is left to the server.
        }
      }
      return { value: text };
    default:
      try {
        return { value: JSON.parse(text) };
      } catch {
        return { error: "must be valid JSON" };
      }
  }
}
