import { useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { useMutation } from "urql";
import { ConfirmButton, Dialog } from "../../components/dialog";
import { errorMessage, failureOf } from "../../components/errors";
import { graphql } from "../../gql/gql";
import type { NodeFieldsFragment } from "../../gql/graphql";
import { useCan } from "../../session/session";

const CordonNodeDocument = graphql(`
  mutation CordonNode($id: ID!) {
    cordonNode(id: $id) {
      ...NodeFields
    }
  }
`);

const UncordonNodeDocument = graphql(`
  mutation UncordonNode($id: ID!) {
    uncordonNode(id: $id) {
      ...NodeFields
    }
  }
`);

const DrainNodeDocument = graphql(`
  mutation DrainNode($id: ID!, $deadlineMs: Int!) {
    drainNode(id: $id, deadlineMs: $deadlineMs) {
      ...NodeFields
    }
  }
`);

const RemoveNodeDocument = graphql(`
  mutation RemoveNode($id: ID!) {
    removeNode(id: $id) {
      ...NodeFields
    }
  }
`);

const ProvisionNodeDocument = graphql(`
  mutation ProvisionNode($id: ID!) {
    provisionNode(id: $id) {
      id
      status
    }
  }
`);

const ReprovisionNodeDocument = graphql(`
  mutation ReprovisionNode($id: ID!) {
    reprovisionNode(id: $id) {
      id
      status
    }
  }
`);

type Node = Pick<NodeFieldsFragment, "id" | "name" | "state" | "cordoned">;

/** Cordon, uncordon, drain and remove (nodes:drain); provision over SSH (nodes:provision, hosts registered by SSH). */
export function NodeActions({
  node,
  sshHost,
  afterRemove,
}: {
  node: Node;
  sshHost: boolean;
  afterRemove?: () => void;
}) {
  const canDrain = useCan("nodes:drain");
  const canProvision = useCan("nodes:provision");
  const [, cordon] = useMutation(CordonNodeDocument);
  const [, uncordon] = useMutation(UncordonNodeDocument);
  const [, remove] = useMutation(RemoveNodeDocument);
  const name = <strong>{node.name}</strong>;
  return (
    <>
      {canProvision && sshHost ? <ProvisionButton node={node} /> : null}
      {canDrain && !node.cordoned ? (
        <ConfirmButton
          label="Cordon"
          className="button small"
          title="Cordon this node?"
          message={<>{name} takes no new jobs; what runs there goes on.</>}
          confirmLabel="Cordon"
          onConfirm={async () => failureOf(await cordon({ id: node.id }))}
        />
      ) : null}
      {canDrain && node.cordoned && node.state !== "DRAINING" ? (
        <ConfirmButton
          label="Uncordon"
          className="button small"
          title="Uncordon this node?"
          message={<>{name} takes new jobs again.</>}
          confirmLabel="Uncordon"
          onConfirm={async () => failureOf(await uncordon({ id: node.id }))}
        />
      ) : null}
      {canDrain && node.state !== "DRAINING" ? <DrainButton node={node} /> : null}
      {canDrain ? (
        <ConfirmButton
          label="Remove"
          className="button small"
          danger
          title="Remove this node?"
          message={
            <>
              {name}'s token is revoked at once (its agent is disconnected) and its jobs are requeued. Its history
              stays. To bring the host back, enroll or provision it again.
            </>
          }
          confirmLabel="Remove node"
          onConfirm={async () => {
            const failure = failureOf(await remove({ id: node.id }));
            if (!failure) afterRemove?.();
            return failure;
          }}
        />
      ) : null}
    </>
  );
}

function DrainButton({ node }: { node: Node }) {
  const [open, setOpen] = useState(false);
  const [minutes, setMinutes] = useState("10");
  const [state, drain] = useMutation(DrainNodeDocument);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await drain({ id: node.id, deadlineMs: Math.round(Number(minutes) * 60_000) });
    if (!result.error) setOpen(false);
  };
  const valid = Number(minutes) > 0;
  return (
    <>
      <button type="button" className="button small" onClick={() => setOpen(true)}>
        Drain
      </button>
      {open ? (
        <Dialog title={`Drain ${node.name}?`} onClose={() => setOpen(false)}>
          <form className="form" onSubmit={submit}>
            <p className="dialog-message">
              The node takes no new jobs. Running jobs may finish within the deadline; what still runs then is requeued.
              The node ends cordoned.
            </p>
            <label className="field">
              <span>Deadline (minutes)</span>
              <input type="number" min={0.1} step="any" value={minutes} onChange={(e) => setMinutes(e.target.value)} />
            </label>
            {state.error ? (
              <p className="form-error" role="alert">
                {errorMessage(state.error)}
              </p>
            ) : null}
            <div className="dialog-actions">
              <button type="button" className="button" onClick={() => setOpen(false)}>
                Cancel
              </button>
              <button type="submit" className="button danger" disabled={state.fetching || !valid}>
                Drain node
              </button>
            </div>
          </form>
        </Dialog>
      ) : null}
    </>
  );
}

/** Starts a provisioning run and opens the node's page on its live log. */
export function ProvisionButton({ node, repair = false }: { node: Pick<Node, "id" | "name">; repair?: boolean }) {
  const navigate = useNavigate();
  const [, provision] = useMutation(ProvisionNodeDocument);
  const [, reprovision] = useMutation(ReprovisionNodeDocument);
  return (
    <ConfirmButton
      label={repair ? "Reprovision" : "Provision"}
      className="button small"
      title={repair ? `Reprovision ${node.name}?` : `Provision ${node.name}?`}
      message={
        repair
          ? "Runs every provisioning step again over SSH and restarts the agent even when nothing changed."
          : "Connects over SSH and installs, configures and starts the agent. Every step checks before it changes anything, so a rerun is safe."
      }
      confirmLabel={repair ? "Reprovision" : "Provision"}
      onConfirm={async () => {
        const result = repair ? await reprovision({ id: node.id }) : await provision({ id: node.id });
        if (result.error) return errorMessage(result.error);
        const data = result.data as { provisionNode?: { id: string }; reprovisionNode?: { id: string } } | undefined;
        const runId = data?.provisionNode?.id ?? data?.reprovisionNode?.id;
        if (runId) void navigate({ to: "/nodes/$nodeId", params: { nodeId: node.id }, search: { run: runId } });
        return null;
      }}
    />
  );
}
