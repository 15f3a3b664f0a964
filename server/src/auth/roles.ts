import { ALL_PERMISSIONS, type Permission } from "./permissions.js";

/** The built-in roles. Custom roles are rows in Role with any subset of the catalog. */
export const BUILT_IN_ROLES: Record<
  "admin" | "operator" | "developer" | "viewer",
  { description: string; permissions: Permission[] }
> = {
  admin: { description: "Everything, including users, keys and the audit log", permissions: ALL_PERMISSIONS },
  operator: {
    description: "Runs the fleet: nodes, queues, builds, promotions",
    permissions: [
      "jobs:read",
      "jobs:submit",
      "jobs:cancel",
      "jobs:retry",
      "queues:read",
      "queues:manage",
      "models:read",
      "models:write",
      "models:promote",
      "nodes:read",
      "nodes:enroll",
      "nodes:provision",
      "nodes:drain",
      "nodes:configure",
      "builds:read",
      "builds:create",
      "workflows:read",
      "workflows:run",
      "webhooks:read",
      "keys:read",
      "keys:manage",
      "audit:read",
    ],
  },
  developer: {
    description: "Ships models and calls them",
    permissions: [
      "jobs:read",
      "jobs:submit",
      "jobs:cancel",
      "jobs:retry",
      "queues:read",
      "models:read",
      "models:write",
      "nodes:read",
      "builds:read",
      "builds:create",
      "workflows:read",
      "workflows:edit",
      "workflows:run",
      "webhooks:read",
      "keys:read",
      "keys:manage",
    ],
  },
  viewer: {
    description: "Sees everything that is not a secret or the audit log",
    permissions: [
      "jobs:read",
      "queues:read",
      "models:read",
      "nodes:read",
      "builds:read",
      "workflows:read",
      "webhooks:read",
    ],
  },
};

export type BuiltInRole = keyof typeof BUILT_IN_ROLES;
export const BUILT_IN_ROLE_NAMES = Object.keys(BUILT_IN_ROLES) as BuiltInRole[];

/** A key's scopes narrow its owner: the effective set is the intersection (empty scopes: the owner's). */
export function effectivePermissions(owner: readonly string[], scopes: readonly string[]): Set<Permission> {
  const known = new Set<string>(ALL_PERMISSIONS);
  const ownerSet = new Set(owner.filter((p) => known.has(p)) as Permission[]);
  if (scopes.length === 0) return ownerSet;
  return new Set(scopes.filter((p): p is Permission => ownerSet.has(p as Permission)));
}
