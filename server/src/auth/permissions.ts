/**
 * The permission catalog: one entry per action. Roles grant sets of them; API-key scopes
 * narrow a key below its owner. Pure data and pure checks, no I/O.
 */
export const PERMISSIONS = {
  "jobs:read": "See jobs, their logs, outputs and artifacts",
  "jobs:submit": "Submit jobs",
  "jobs:cancel": "Cancel jobs",
  "jobs:retry": "Run a finished job again",
  "queues:read": "See queue depth and wait",
  "queues:manage": "Pause, resume and purge queues",
  "models:read": "See models and versions",
  "models:write": "Create models and versions",
  "models:promote": "Promote and roll back model versions",
  "nodes:read": "See nodes, GPUs and provisioning runs",
  "nodes:enroll": "Create enrollment tokens and register hosts",
  "nodes:provision": "Provision and reprovision hosts over SSH",
  "nodes:drain": "Cordon, drain, uncordon and remove nodes",
  "nodes:configure": "Push environment, secrets and runners to nodes",
  "builds:read": "See builds and their logs",
  "builds:create": "Start builds",
  "workflows:read": "See workflows and runs",
  "workflows:edit": "Create and change workflows",
  "workflows:run": "Run workflows",
  "webhooks:read": "See webhook deliveries",
  "keys:read": "See API keys (never their secrets)",
  "keys:manage": "Create and revoke API keys",
  "users:read": "See users and roles",
  "users:manage": "Create users, change roles",
  "audit:read": "Read the audit log",
} as const;

export type Permission = keyof typeof PERMISSIONS;
export const ALL_PERMISSIONS = Object.keys(PERMISSIONS) as Permission[];

/** Who is acting. Nodes are not in the catalog: they only ever act for themselves (agent scope). */
export type Principal =
  | { kind: "user"; id: string; name: string; permissions: ReadonlySet<Permission> }
  | { kind: "apiKey"; id: string; name: string; ownerId: string; permissions: ReadonlySet<Permission> }
  | { kind: "node"; id: string; name: string; permissions: ReadonlySet<Permission> }
  | { kind: "anonymous"; id: "anonymous"; name: "anonymous"; permissions: ReadonlySet<Permission> };

export function can(principal: Principal, permission: Permission): boolean {
  return principal.permissions.has(permission);
}

/** The actor string written on events and audit records. */
export function actorOf(principal: Principal): string {
  return principal.kind === "anonymous"
    ? "anonymous"
    : `${principal.kind === "apiKey" ? "key" : principal.kind}:${principal.id}`;
}
