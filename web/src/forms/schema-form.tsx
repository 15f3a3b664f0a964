import { useId } from "react";
import type { FieldSpec, FormValues } from "./schema-form-model";

/** The fields of a schema form; errors come from local checks and from the server's field issues. */
export function SchemaFields({
  fields,
  values,
  errors,
  onChange,
}: {
  fields: FieldSpec[];
  values: FormValues;
  errors: Record<string, string>;
  onChange: (name: string, value: string | boolean) => void;
}) {
  return (
    <div className="schema-grid">
      {fields.map((field) => (
        <SchemaField
          key={field.name}
          field={field}
          value={values[field.name] ?? ""}
          error={errors[field.name]}
          onChange={onChange}
        />
      ))}
    </div>
  );
}

/** Text, JSON and choices take a whole row; numbers and switches share one. */
const WIDE = new Set(["string", "json", "select"]);

function SchemaField({
  field,
  value,
  error,
  onChange,
}: {
  field: FieldSpec;
  value: string | boolean;
  error: string | undefined;
  onChange: (name: string, value: string | boolean) => void;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy =
    [field.description ? hintId : null, error ? errorId : null].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    name: field.name,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": describedBy,
    required: field.required,
  };
  const text = typeof value === "string" ? value : "";
  let control: React.ReactNode;
  switch (field.kind) {
    case "select":
      control = (
        <select {...common} value={text} onChange={(e) => onChange(field.name, e.target.value)}>
          {field.required ? null : <option value="">(default)</option>}
          {field.options?.map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      );
      break;
    case "integer":
    case "number":
      control = (
        <input
          {...common}
          type="number"
          inputMode={field.kind === "integer" ? "numeric" : "decimal"}
          step={field.kind === "integer" ? 1 : "any"}
          min={field.min ?? field.above}
          max={field.max}
          placeholder={field.defaultValue !== undefined ? `default ${String(field.defaultValue)}` : undefined}
          value={text}
          onChange={(e) => onChange(field.name, e.target.value)}
        />
      );
      break;
    case "boolean":
      control = (
        <input
          {...common}
          type="checkbox"
          checked={value === true}
          onChange={(e) => onChange(field.name, e.target.checked)}
        />
      );
      break;
    case "json":
      control = (
        <textarea
          {...common}
          rows={3}
          className="mono"
          value={text}
          onChange={(e) => onChange(field.name, e.target.value)}
        />
      );
      break;
    default:
      control = <input {...common} type="text" value={text} onChange={(e) => onChange(field.name, e.target.value)} />;
  }
  return (
    <div className={`field${field.kind === "boolean" ? " checkbox" : ""}${WIDE.has(field.kind) ? " wide" : ""}`}>
      <label htmlFor={id}>
        {field.label}
        {field.required ? <span className="required"> (required)</span> : null}
      </label>
      {control}
      {field.description ? (
        <small id={hintId} className="hint">
          {field.description}
        </small>
      ) : null}
      {error ? (
        <small id={errorId} className="field-error">
          {error}
        </small>
      ) : null}
    </div>
  );
}
