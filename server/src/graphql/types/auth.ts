import { ALL_PERMISSIONS, PERMISSIONS } from "../../auth/permissions.js";
import { DomainError } from "../../errors.js";
import type { ApiKey, Role, User } from "../../generated/prisma/client.js";
import { builder } from "../builder.js";
import type { GraphQLContext } from "../context.js";

export const SESSION_COOKIE = "vyvo_session";

const RoleRef = builder.objectRef<Role>("Role").implement({
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    description: t.exposeString("description", { nullable: true }),
    permissions: t.exposeStringList("permissions"),
    builtIn: t.exposeBoolean("builtIn"),
  }),
});

const UserRef = builder.objectRef<User & { role?: Role }>("User").implement({
  fields: (t) => ({
    id: t.exposeID("id"),
    email: t.exposeString("email"),
    name: t.exposeString("name"),
    disabled: t.exposeBoolean("disabled"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    role: t.field({
      type: RoleRef,
      resolve: async (user, _args, ctx) =>
        user.role ?? (await ctx.prisma.role.findUniqueOrThrow({ where: { id: user.roleId } })),
    }),
  }),
});

const ApiKeyRef = builder.objectRef<ApiKey>("ApiKey").implement({
  description: "An API key. Its secret is shown once, at creation; only the prefix identifies it later.",
  fields: (t) => ({
    id: t.exposeID("id"),
    prefix: t.exposeString("prefix"),
    name: t.exposeString("name"),
    ownerId: t.exposeString("ownerId"),
    scopes: t.exposeStringList("scopes", { description: "Empty: all of the owner's permissions." }),
    expiresAt: t.expose("expiresAt", { type: "DateTime", nullable: true }),
    lastUsedAt: t.expose("lastUsedAt", { type: "DateTime", nullable: true }),
    revokedAt: t.expose("revokedAt", { type: "DateTime", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

const PermissionRef = builder.objectRef<{ name: string; description: string }>("Permission").implement({
  fields: (t) => ({ name: t.exposeString("name"), description: t.exposeString("description") }),
});

const Viewer = builder.objectRef<GraphQLContext>("Viewer").implement({
  description: "Who the caller is and what they may do.",
  fields: (t) => ({
    kind: t.string({ resolve: (ctx) => ctx.principal.kind }),
    id: t.string({ resolve: (ctx) => ctx.principal.id }),
    name: t.string({ resolve: (ctx) => ctx.principal.name }),
    permissions: t.stringList({ resolve: (ctx) => [...ctx.principal.permissions].sort() }),
    csrfToken: t.string({
      nullable: true,
      description: "For cookie sessions: send it back as the x-csrf-token header on mutations.",
      resolve: (ctx) => ctx.csrfToken ?? null,
    }),
  }),
});

const LoginResult = builder.objectRef<{ user: User; csrfToken: string; expiresAt: Date }>("LoginResult").implement({
  fields: (t) => ({
    user: t.field({ type: UserRef, resolve: (r) => r.user }),
    csrfToken: t.exposeString("csrfToken"),
    expiresAt: t.expose("expiresAt", { type: "DateTime" }),
  }),
});

const CreatedApiKey = builder.objectRef<{ key: ApiKey; secret: string }>("CreatedApiKey").implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, resolve: (r) => r.key }),
    secret: t.exposeString("secret", {
      description: "Shown once. Send it as `Authorization: Bearer <secret>` or `Key <secret>`.",
    }),
  }),
});

function ownerIdOf(ctx: GraphQLContext): string {
  const p = ctx.principal;
  if (p.kind === "user") return p.id;
  if (p.kind === "apiKey") return p.ownerId;
  throw new DomainError("FORBIDDEN", "only users and their keys own API keys");
}

builder.queryFields((t) => ({
  viewer: t.field({
    type: Viewer,
    authScopes: { public: true },
    resolve: (_root, _args, ctx) => ctx,
  }),
  permissions: t.field({
    type: [PermissionRef],
    authScopes: { public: true },
    description: "The permission catalog.",
    resolve: () => ALL_PERMISSIONS.map((name) => ({ name, description: PERMISSIONS[name] })),
  }),
  roles: t.field({
    type: [RoleRef],
    authScopes: { permission: "users:read" },
    resolve: (_root, _args, ctx) => ctx.prisma.role.findMany({ orderBy: { name: "asc" } }),
  }),
  users: t.field({
    type: [UserRef],
    authScopes: { permission: "users:read" },
    resolve: (_root, _args, ctx) => ctx.prisma.user.findMany({ orderBy: { email: "asc" }, include: { role: true } }),
  }),
  apiKeys: t.field({
    type: [ApiKeyRef],
    authScopes: { permission: "keys:read" },
    description: "Your own keys; with users:manage, everyone's.",
    resolve: (_root, _args, ctx) =>
      ctx.prisma.apiKey.findMany({
        where: ctx.principal.permissions.has("users:manage") ? {} : { ownerId: ownerIdOf(ctx) },
        orderBy: { createdAt: "desc" },
      }),
  }),
}));

builder.mutationFields((t) => ({
  login: t.field({
    type: LoginResult,
    authScopes: { public: true },
    description: "Opens an admin session (an HTTP-only cookie) and returns its CSRF token.",
    args: { email: t.arg.string({ required: true }), password: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const session = await ctx.auth.login(args.email, args.password, ctx.sourceIp ?? "unknown");
      const maxAge = Math.floor((session.expiresAt.getTime() - Date.now()) / 1000);
      ctx.setCookie(`${SESSION_COOKIE}=${session.sessionToken}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`);
      return { user: session.user, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
    },
  }),
  logout: t.boolean({
    authScopes: { public: true },
    resolve: async (_root, _args, ctx) => {
      if (ctx.credential.kind === "session") await ctx.auth.logout(ctx.credential.id);
      ctx.setCookie(`${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
      return true;
    },
  }),
  completeSetup: t.field({
    type: UserRef,
    authScopes: { public: true },
    description: "Creates the first admin with the one-time setup token printed at first start.",
    args: {
      token: t.arg.string({ required: true }),
      email: t.arg.string({ required: true }),
      name: t.arg.string({ required: true }),
      password: t.arg.string({ required: true }),
    },
    resolve: (_root, args, ctx) =>
      ctx.auth.completeSetup(args.token, { email: args.email, name: args.name, password: args.password }),
  }),
  createUser: t.field({
    type: UserRef,
    authScopes: { permission: "users:manage" },
    args: {
      email: t.arg.string({ required: true }),
      name: t.arg.string({ required: true }),
      password: t.arg.string({ required: true }),
      role: t.arg.string({ required: true }),
    },
    resolve: (_root, args, ctx) => ctx.auth.createUser(args),
  }),
  setUserRole: t.field({
    type: UserRef,
    authScopes: { permission: "users:manage" },
    args: { userId: t.arg.id({ required: true }), role: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.auth.setUserRole(String(args.userId), args.role),
  }),
  disableUser: t.field({
    type: UserRef,
    authScopes: { permission: "users:manage" },
    description: "Disables a user and revokes their sessions and keys at once.",
    args: { userId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.auth.disableUser(String(args.userId)),
  }),
  createRole: t.field({
    type: RoleRef,
    authScopes: { permission: "users:manage" },
    args: {
      name: t.arg.string({ required: true }),
      permissions: t.arg.stringList({ required: true }),
      description: t.arg.string(),
    },
    resolve: (_root, args, ctx) => ctx.auth.createRole(args.name, args.permissions, args.description ?? undefined),
  }),
  createApiKey: t.field({
    type: CreatedApiKey,
    authScopes: { permission: "keys:manage" },
    args: {
      name: t.arg.string({ required: true }),
      scopes: t.arg.stringList(),
      expiresAt: t.arg({ type: "DateTime" }),
    },
    resolve: (_root, args, ctx) =>
      ctx.auth.createApiKey(ownerIdOf(ctx), {
        name: args.name,
        scopes: args.scopes ?? [],
        expiresAt: args.expiresAt ?? null,
      }),
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    authScopes: { permission: "keys:manage" },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.auth.revokeApiKey(String(args.id), ctx.principal),
  }),
}));
