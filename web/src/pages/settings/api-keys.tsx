import { type FormEvent, useState } from "react";
import { useMutation, useQuery } from "urql";
import { Ago } from "../../components/ago";
import { Badge } from "../../components/badges";
import { ConfirmButton, Dialog } from "../../components/dialog";
import { errorMessage, failureOf } from "../../components/errors";
import { formatTime } from "../../components/format";
import { Empty, QueryState } from "../../components/states";
import { graphql } from "../../gql/gql";
import type { ApiKeysQuery } from "../../gql/graphql";
import { useSession } from "../../session/session";

const ApiKeysDocument = graphql(`
  query ApiKeys {
    apiKeys {
      id
      name
      prefix
      ownerId
      scopes
      createdAt
      expiresAt
      lastUsedAt
      revokedAt
    }
  }
`);

const CreateApiKeyDocument = graphql(`
  mutation CreateApiKey($name: String!, $scopes: [String!], $expiresAt: DateTime) {
    createApiKey(name: $name, scopes: $scopes, expiresAt: $expiresAt) {
      secret
      apiKey {
        id
        name
        prefix
      }
    }
  }
`);

const RevokeApiKeyDocument = graphql(`
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) {
      id
      revokedAt
    }
  }
`);

type Key = ApiKeysQuery["apiKeys"][number];

export function ApiKeysPage() {
  const session = useSession();
  const canManage = session.can("keys:manage");
  const [result, reexecute] = useQuery({ query: ApiKeysDocument });
  return (
    <section aria-labelledby="keys-title">
      <div className="section-head">
        <h2 id="keys-title">API keys</h2>
        {canManage ? <CreateKeyButton /> : null}
      </div>
      <p className="muted">
        Programs call the API with a key.{" "}
        {session.can("users:manage") ? "You see everyone's keys." : "You see your own keys."}
      </p>
      <QueryState result={result} retry={() => reexecute({ requestPolicy: "network-only" })} what="Loading keys">
        {(data) =>
          data.apiKeys.length === 0 ? (
            <Empty>No API keys yet.</Empty>
          ) : (
            <KeyTable keys={data.apiKeys} canManage={canManage} />
          )
        }
      </QueryState>
    </section>
  );
}

function KeyTable({ keys, canManage }: { keys: Key[]; canManage: boolean }) {
  const [, revoke] = useMutation(RevokeApiKeyDocument);
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Prefix</th>
            <th scope="col">Scopes</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
            {canManage ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => {
            const expired =
              key.expiresAt !== null && key.expiresAt !== undefined && Date.parse(key.expiresAt) < Date.now();
            return (
              <tr key={key.id} data-key={key.name}>
                <td>{key.name}</td>
                <td className="mono">{key.prefix}…</td>
                <td className="scopes">
                  {key.scopes.length ? key.scopes.join(", ") : <span className="muted">all of the owner's</span>}
                </td>
                <td>{formatTime(key.createdAt)}</td>
                <td>
                  <Ago at={key.lastUsedAt} />
                </td>
                <td>
                  {key.revokedAt ? (
                    <Badge tone="muted">revoked</Badge>
                  ) : expired ? (
                    <Badge tone="warn">expired</Badge>
                  ) : (
                    <Badge tone="ok">active</Badge>
                  )}
                </td>
                {canManage ? (
                  <td>
                    <div className="row-actions">
                      {key.revokedAt ? null : (
                        <ConfirmButton
                          label="Revoke"
                          className="button small"
                          danger
                          title="Revoke this key?"
                          message={
                            <>
                              Programs using <strong>{key.name}</strong> ({key.prefix}…) are refused from now on, and
                              their live connections are closed.
                            </>
                          }
                          confirmLabel="Revoke key"
                          onConfirm={async () => {
                            return failureOf(await revoke({ id: key.id }));
                          }}
                        />
                      )}
                    </div>
                  </td>
                ) : null}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function CreateKeyButton() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="button primary" onClick={() => setOpen(true)}>
        Create key
      </button>
      {open ? <CreateKeyDialog onClose={() => setOpen(false)} /> : null}
    </>
  );
}

function CreateKeyDialog({ onClose }: { onClose: () => void }) {
  const session = useSession();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>([]);
  const [expires, setExpires] = useState("");
  const [state, create] = useMutation(CreateApiKeyDocument);
  const created = state.data?.createApiKey;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void create({
      name: name.trim(),
      scopes: scopes.length ? scopes : null,
      expiresAt: expires ? new Date(`${expires}T23:59:59`).toISOString() : null,
    });
  };

  if (created) {
    return (
      <Dialog title="Key created" onClose={onClose}>
        <p>
          Copy the secret of <strong>{created.apiKey.name}</strong> now: it is shown <strong>once</strong>, and only its
          prefix is kept.
        </p>
        <pre className="secret">{created.secret}</pre>
        <p className="muted small">Send it as: Authorization: Bearer &lt;secret&gt;</p>
        <div className="dialog-actions">
          <button type="button" className="button" onClick={() => void navigator.clipboard?.writeText(created.secret)}>
            Copy
          </button>
          <button type="button" className="button primary" onClick={onClose}>
            Done
          </button>
        </div>
      </Dialog>
    );
  }

  return (
    <Dialog title="Create an API key" onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <label className="field">
          <span>Name</span>
          <input
            required
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="ci-pipeline"
          />
        </label>
        <label className="field">
          <span>Expires (optional)</span>
          <input type="date" value={expires} onChange={(e) => setExpires(e.target.value)} />
        </label>
        <fieldset className="field scopes-field">
          <legend>Scopes (none ticked: all of your permissions)</legend>
          <div className="checks">
            {session.viewer.permissions.map((permission) => (
              <label key={permission} className="check">
                <input
                  type="checkbox"
                  checked={scopes.includes(permission)}
                  onChange={(e) =>
                    setScopes((s) => (e.target.checked ? [...s, permission] : s.filter((p) => p !== permission)))
                  }
                />
                <span className="mono">{permission}</span>
              </label>
            ))}
          </div>
        </fieldset>
        {state.error ? (
          <p className="form-error" role="alert">
            {errorMessage(state.error)}
          </p>
        ) : null}
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button primary" disabled={state.fetching || !name.trim()}>
            Create key
          </button>
        </div>
      </form>
    </Dialog>
  );
}
