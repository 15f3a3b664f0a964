import { useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { useMutation } from "urql";
import { Dialog } from "../../components/dialog";
import { errorMessage } from "../../components/errors";
import { graphql } from "../../gql/gql";
import { parseLabels } from "./gpus";

const RegisterSshHostDocument = graphql(`
  mutation RegisterSshHost($input: RegisterSshHostInput!) {
    registerSshHost(input: $input) {
      ...NodeFields
    }
  }
`);

const EMPTY = {
  name: "",
  address: "",
  port: "22",
  user: "",
  privateKey: "",
  hostKeyFingerprint: "",
  pool: "",
  capacity: "1",
  labels: "",
  installDir: "",
  agentEnv: "",
};

/** Registers a host the platform bootstraps over SSH; its page then offers Provision. */
export function RegisterHostButton() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="button" onClick={() => setOpen(true)}>
        Register SSH host
      </button>
      {open ? <RegisterHostDialog onClose={() => setOpen(false)} /> : null}
    </>
  );
}

function RegisterHostDialog({ onClose }: { onClose: () => void }) {
  const [form, setForm] = useState(EMPTY);
  const [problem, setProblem] = useState<string | null>(null);
  const [state, register] = useMutation(RegisterSshHostDocument);
  const navigate = useNavigate();
  const set = (key: keyof typeof EMPTY) => (event: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [key]: event.target.value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    const labels = parseLabels(form.labels);
    if ("error" in labels) return setProblem(`Labels: ${labels.error}`);
    const agentEnv = parseLabels(form.agentEnv);
    if ("error" in agentEnv) return setProblem(`Agent settings: ${agentEnv.error}`);
    const result = await register({
      input: {
        name: form.name.trim(),
        address: form.address.trim(),
        port: Number(form.port) || 22,
        user: form.user.trim(),
        privateKey: form.privateKey,
        capacity: Number(form.capacity) || 1,
        ...(form.hostKeyFingerprint.trim() ? { hostKeyFingerprint: form.hostKeyFingerprint.trim() } : {}),
        ...(form.pool.trim() ? { pool: form.pool.trim() } : {}),
        ...(Object.keys(labels.labels).length ? { labels: labels.labels } : {}),
        ...(form.installDir.trim() ? { installDir: form.installDir.trim() } : {}),
        ...(Object.keys(agentEnv.labels).length ? { agentEnv: agentEnv.labels } : {}),
      },
    });
    if (result.error) return setProblem(errorMessage(result.error));
    const node = result.data?.registerSshHost;
    onClose();
    if (node) void navigate({ to: "/nodes/$nodeId", params: { nodeId: node.id } });
  };

  return (
    <Dialog title="Register an SSH host" onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <p className="muted small">
          The platform connects with this key once, to install and start the agent; after that the agent dials in. The
          key is stored encrypted and never shown again.
        </p>
        <div className="form-row">
          <label className="field">
            <span>Node name</span>
            <input required value={form.name} onChange={set("name")} placeholder="gpu-host-1" />
          </label>
          <label className="field">
            <span>Pool (optional)</span>
            <input value={form.pool} onChange={set("pool")} placeholder="h100" />
          </label>
        </div>
        <div className="form-row">
          <label className="field grow">
            <span>Address</span>
            <input required value={form.address} onChange={set("address")} placeholder="10.0.0.12" />
          </label>
          <label className="field narrow">
            <span>Port</span>
            <input type="number" min={1} max={65535} value={form.port} onChange={set("port")} />
          </label>
          <label className="field">
            <span>User</span>
            <input required value={form.user} onChange={set("user")} placeholder="ubuntu" autoComplete="off" />
          </label>
        </div>
        <label className="field">
          <span>Private key (OpenSSH or PEM, unencrypted)</span>
          <textarea
            required
            rows={4}
            className="mono"
            value={form.privateKey}
            onChange={set("privateKey")}
            spellCheck={false}
          />
        </label>
        <label className="field">
          <span>Host key fingerprint (optional)</span>
          <input
            value={form.hostKeyFingerprint}
            onChange={set("hostKeyFingerprint")}
            placeholder="SHA256:…"
            className="mono"
          />
          <small className="hint">
            Without it, the first run records the key the host offers and waits for you to confirm it.
          </small>
        </label>
        <div className="form-row">
          <label className="field narrow">
            <span>Job slots</span>
            <input type="number" min={1} value={form.capacity} onChange={set("capacity")} />
          </label>
          <label className="field grow">
            <span>Labels (optional)</span>
            <input value={form.labels} onChange={set("labels")} placeholder="zone=eu, tier=gold" />
          </label>
        </div>
        <details className="advanced">
          <summary>Advanced</summary>
          <div className="form">
            <label className="field">
              <span>Install folder on the host</span>
              <input
                value={form.installDir}
                onChange={set("installDir")}
                placeholder=".vyvo-agent (in the user's home)"
              />
            </label>
            <label className="field">
              <span>Agent settings, one VYVO_NAME=value per line (not secrets)</span>
              <textarea rows={3} className="mono" value={form.agentEnv} onChange={set("agentEnv")} spellCheck={false} />
            </label>
          </div>
        </details>
        {problem ? (
          <p className="form-error" role="alert">
            {problem}
          </p>
        ) : null}
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button primary" disabled={state.fetching}>
            Register host
          </button>
        </div>
      </form>
    </Dialog>
  );
}
