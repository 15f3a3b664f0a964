import { useNavigate } from "@tanstack/react-router";
import { type FormEvent, useMemo, useState } from "react";
import { useMutation } from "urql";
import { errorIssues, errorMessage } from "../../components/errors";
import { SchemaFields } from "../../forms/schema-form";
import { buildInput, type FormValues, fieldsFromSchema, initialValues } from "../../forms/schema-form-model";
import { graphql } from "../../gql/gql";

const SubmitJobDocument = graphql(`
  mutation SubmitJob($input: SubmitJobInput!) {
    submitJob(input: $input) {
      created
      job {
        id
        status
      }
    }
  }
`);

/** A job for the model's latest version, with a form generated from that version's input schema. */
export function SubmitJobForm({ modelId, inputSchema }: { modelId: string; inputSchema: unknown }) {
  const fields = useMemo(() => fieldsFromSchema(inputSchema), [inputSchema]);
  const [values, setValues] = useState<FormValues>(() => initialValues(fields ?? []));
  const [raw, setRaw] = useState("{}");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [state, submit] = useMutation(SubmitJobDocument);
  const [failure, setFailure] = useState<string | null>(null);
  const navigate = useNavigate();

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setFailure(null);
    let input: unknown;
    if (fields) {
      const built = buildInput(fields, values);
      setErrors(built.errors);
      if (Object.keys(built.errors).length) return;
      input = built.input;
    } else {
      try {
        input = JSON.parse(raw);
      } catch {
        setFailure("The input is not valid JSON.");
        return;
      }
    }
    const result = await submit({ input: { modelId, input } });
    if (result.error) {
      const issues = errorIssues(result.error);
      const byField: Record<string, string> = {};
      for (const issue of issues) if (issue.loc[0]) byField[issue.loc[0]] = issue.msg;
      setErrors(byField);
      setFailure(errorMessage(result.error));
      return;
    }
    const job = result.data?.submitJob.job;
    if (job) void navigate({ to: "/jobs/$jobId", params: { jobId: job.id } });
  };

  return (
    <form className="form" onSubmit={onSubmit} aria-label={`Submit a job to ${modelId}`} noValidate>
      {fields ? (
        <SchemaFields
          fields={fields}
          values={values}
          errors={errors}
          onChange={(name, value) => setValues((v) => ({ ...v, [name]: value }))}
        />
      ) : (
        <label className="field">
          <span>Input (JSON)</span>
          <textarea className="mono" rows={8} value={raw} onChange={(e) => setRaw(e.target.value)} />
        </label>
      )}
      {failure ? (
        <p className="form-error" role="alert">
          {failure}
        </p>
      ) : null}
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={state.fetching}>
          {state.fetching ? "Submitting…" : "Submit job"}
        </button>
      </div>
    </form>
  );
}
