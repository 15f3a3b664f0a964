import { type FormEvent, useState } from "react";
import { useMutation, useQuery } from "urql";
import { Badge } from "../../components/badges";
import { ConfirmButton, Dialog } from "../../components/dialog";
import { errorMessage, failureOf } from "../../components/errors";
import { formatTime } from "../../components/format";
import { Empty, QueryState } from "../../components/states";
import { graphql } from "../../gql/gql";
import type { UsersQuery } from "../../gql/graphql";
import { useSession } from "../../session/session";

const UsersDocument = graphql(`
  query Users {
    users {
      id
      email
      name
      disabled
      createdAt
      role {
        id
        name
      }
    }
    roles {
      id
      name
      description
      builtIn
      permissions
    }
  }
`);

const CreateUserDocument = graphql(`
  mutation CreateUser($email: String!, $name: String!, $password: String!, $role: String!) {
    createUser(email: $email, name: $name, password: $password, role: $role) {
      id
      email
    }
  }
`);

const SetUserRoleDocument = graphql(`
  mutation SetUserRole($userId: ID!, $role: String!) {
    setUserRole(userId: $userId, role: $role) {
      id
      role {
        id
        name
      }
    }
  }
`);

const DisableUserDocument = graphql(`
  mutation DisableUser($userId: ID!) {
    disableUser(userId: $userId) {
      id
      disabled
    }
  }
`);

type User = UsersQuery["users"][number];
type Role = UsersQuery["roles"][number];

export function UsersPage() {
  const session = useSession();
  const canManage = session.can("users:manage");
  const [result, reexecute] = useQuery({ query: UsersDocument });
  return (
    <QueryState result={result} retry={() => reexecute({ requestPolicy: "network-only" })} what="Loading users">
      {(data) => (
        <>
          <section aria-labelledby="users-title">
            <div className="section-head">
              <h2 id="users-title">Users</h2>
              {canManage ? <CreateUserButton roles={data.roles} /> : null}
            </div>
            {data.users.length === 0 ? (
              <Empty>No users.</Empty>
            ) : (
              <UserTable users={data.users} roles={data.roles} canManage={canManage} selfId={session.viewer.id} />
            )}
          </section>
          <section aria-labelledby="roles-title">
            <h2 id="roles-title">Roles</h2>
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Role</th>
                    <th scope="col">Description</th>
                    <th scope="col">Permissions</th>
                  </tr>
                </thead>
                <tbody>
                  {data.roles.map((role) => (
                    <tr key={role.id}>
                      <td>
                        {role.name} {role.builtIn ? <Badge tone="muted">built-in</Badge> : null}
                      </td>
                      <td>{role.description ?? ""}</td>
                      <td className="scopes">{role.permissions.join(", ")}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      )}
    </QueryState>
  );
}

function UserTable({
  users,
  roles,
  canManage,
  selfId,
}: {
  users: User[];
  roles: Role[];
  canManage: boolean;
  selfId: string;
}) {
  const [, disable] = useMutation(DisableUserDocument);
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">State</th>
            <th scope="col">Created</th>
            {canManage ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr key={user.id} data-user={user.email}>
              <td>{user.email}</td>
              <td>{user.name}</td>
              <td>{user.role.name}</td>
              <td>{user.disabled ? <Badge tone="muted">disabled</Badge> : <Badge tone="ok">active</Badge>}</td>
              <td>{formatTime(user.createdAt)}</td>
              {canManage ? (
                <td>
                  <div className="row-actions">
                    {user.disabled || user.id === selfId ? null : (
                      <>
                        <ChangeRoleButton user={user} roles={roles} />
                        <ConfirmButton
                          label="Disable"
                          className="button small"
                          danger
                          title="Disable this user?"
                          message={
                            <>
                              <strong>{user.email}</strong> is signed out everywhere and their API keys stop working.
                            </>
                          }
                          confirmLabel="Disable user"
                          onConfirm={async () => {
                            return failureOf(await disable({ userId: user.id }));
                          }}
                        />
                      </>
                    )}
                  </div>
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ChangeRoleButton({ user, roles }: { user: User; roles: Role[] }) {
  const [open, setOpen] = useState(false);
  const [role, setRole] = useState(user.role.name);
  const [state, setUserRole] = useMutation(SetUserRoleDocument);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await setUserRole({ userId: user.id, role });
    if (!result.error) setOpen(false);
  };
  return (
    <>
      <button type="button" className="button small" onClick={() => setOpen(true)}>
        Change role
      </button>
      {open ? (
        <Dialog title={`Role of ${user.email}`} onClose={() => setOpen(false)}>
          <form className="form" onSubmit={submit}>
            <label className="field">
              <span>Role</span>
              <select value={role} onChange={(e) => setRole(e.target.value)}>
                {roles.map((r) => (
                  <option key={r.id} value={r.name}>
                    {r.name}
                    {r.description ? ` — ${r.description}` : ""}
                  </option>
                ))}
              </select>
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
              <button type="submit" className="button primary" disabled={state.fetching || role === user.role.name}>
                Save role
              </button>
            </div>
          </form>
        </Dialog>
      ) : null}
    </>
  );
}

function CreateUserButton({ roles }: { roles: Role[] }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="button primary" onClick={() => setOpen(true)}>
        Create user
      </button>
      {open ? <CreateUserDialog roles={roles} onClose={() => setOpen(false)} /> : null}
    </>
  );
}

function CreateUserDialog({ roles, onClose }: { roles: Role[]; onClose: () => void }) {
  const [form, setForm] = useState({
    email: "",
    name: "",
    password: "",
    role: roles.find((r) => r.name === "viewer")?.name ?? roles[0]?.name ?? "",
  });
  const [state, createUser] = useMutation(CreateUserDocument);
  const set = (key: keyof typeof form) => (event: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [key]: event.target.value }));
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await createUser(form);
    if (!result.error) onClose();
  };
  return (
    <Dialog title="Create a user" onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <label className="field">
          <span>Email</span>
          <input type="email" required value={form.email} onChange={set("email")} autoComplete="off" />
        </label>
        <label className="field">
          <span>Name</span>
          <input required value={form.name} onChange={set("name")} autoComplete="off" />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            type="password"
            required
            minLength={10}
            value={form.password}
            onChange={set("password")}
            autoComplete="new-password"
          />
        </label>
        <label className="field">
          <span>Role</span>
          <select value={form.role} onChange={set("role")}>
            {roles.map((role) => (
              <option key={role.id} value={role.name}>
                {role.name}
              </option>
            ))}
          </select>
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
            Create user
          </button>
        </div>
      </form>
    </Dialog>
  );
}
