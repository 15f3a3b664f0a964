import { type FormEvent, useState } from "react";
import { useMutation } from "urql";
import { Dialog } from "../../components/dialog";
import { errorMessage } from "../../components/errors";
import { formatTime } from "../../components/format";
import { graphql } from "../../gql/gql";

const CreateEnrollmentTokenDocument = graphql(`
  mutation CreateEnrollmentToken($nodeName: String, $pool: String) {
    createEnrollmentToken(nodeName: $nodeName, pool: $pool) {
      token
      expiresAt
    }
  }
`);

/** Adds a node by enrollment: a single-use token, shown once, that the host's agent exchanges for its own. */
export function EnrollNodeButton() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="button primary" onClick={() => setOpen(true)}>
        Add node
      </button>
      {open ? <EnrollDialog onClose={() => setOpen(false)} /> : null}
    </>
  );
}

function EnrollDialog({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState("");
  const [pool, setPool] = useState("");
  const [state, create] = useMutation(CreateEnrollmentTokenDocument);
  const created = state.data?.createEnrollmentToken;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void create({ nodeName: name.trim() || null, pool: pool.trim() || null });
  };
  const command = created
    ? `VYVO_ENROLLMENT_TOKEN=${created.token} vyvo-agent --server-url ${window.location.origin}${name.trim() ? ` --node-name ${name.trim()}` : ""}`
    : "";
  return (
    <Dialog title="Add a node" onClose={onClose}>
      {created ? (
        <>
          <p>
            Run the agent on the host with this token. It is shown <strong>once</strong> and works once, until{" "}
            {formatTime(created.expiresAt)}.
          </p>
          <pre className="secret">{command}</pre>
          <div className="dialog-actions">
            <button type="button" className="button" onClick={() => void navigator.clipboard?.writeText(command)}>
              Copy
            </button>
            <button type="button" className="button primary" onClick={onClose}>
              Done
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={submit} className="form">
          <label className="field">
            <span>Node name (optional)</span>
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="gpu-host-1" />
          </label>
          <label className="field">
            <span>Pool (optional)</span>
            <input value={pool} onChange={(e) => setPool(e.target.value)} placeholder="a100" />
          </label>
          {state.error ? (
            <p className="form-error" role="alert">
              {errorMessage(state.error)}
            </p>
          ) : null}
          <div className="dialog-actions">
            <button type="button" className="button" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="button primary" disabled={state.fetching}>
              Create enrollment token
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
