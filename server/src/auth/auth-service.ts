import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import { DomainError, notFound } from "../errors.js";
import { type EventBus, topics } from "../events/event-bus.js";
import { type ApiKey, Prisma, type PrismaClient, type User } from "../generated/prisma/client.js";
import { hashSecret, sameHash } from "../nodes/tokens.js";
import { hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from "./passwords.js";
import { ALL_PERMISSIONS, type Permission, type Principal } from "./permissions.js";
import type { RateLimiter } from "./rate-limiter.js";
import { BUILT_IN_ROLE_NAMES, BUILT_IN_ROLES, effectivePermissions } from "./roles.js";

export interface AuthConfig {
  sessionTtlMs: number;
  loginAttemptsPerWindow: number;
  loginWindowMs: number;
}

/** How the caller proved who they are: what a revocation must find to close its sockets. */
export interface Credential {
  kind: "session" | "apiKey" | "node" | "none";
  id: string;
}

export interface Authenticated {
  principal: Principal;
  credential: Credential;
  /** Present for cookie sessions: mutations must echo it in x-csrf-token. */
  csrfToken?: string;
}

export const ANONYMOUS: Principal = { kind: "anonymous", id: "anonymous", name: "anonymous", permissions: new Set() };

const API_KEY_FORMAT = /^vyvo_([0-9a-f]{12})_[A-Za-z0-9_-]{20,}$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const LAST_USED_RESOLUTION_MS = 60_000;
/** API keys are checked on every request: a short cache, emptied on every revocation event. */
const KEY_CACHE_MS = 10_000;

/** People, programs and their rights: users, sessions, API keys, roles, first-start setup. */
export class AuthService {
  private readonly keyCache = new Map<string, { auth: Authenticated; expiresAt: number; at: number }>();
  private readonly stopListening: () => void;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly events: EventBus,
    private readonly limiter: RateLimiter,
    private readonly clock: Clock,
    private readonly config: AuthConfig,
  ) {
    // Any revocation on any replica empties this replica's cache: the next request re-reads the key.
    const revocations = this.events.subscribe<Credential>(topics.credentialRevoked);
    void (async () => {
      for await (const _credential of revocations) this.keyCache.clear();
    })();
    this.stopListening = () => void revocations.return?.();
  }

  close(): void {
    this.stopListening();
  }

  /** Creates the built-in roles and brings their permissions up to the current catalog. */
  async ensureBuiltInRoles(): Promise<void> {
    for (const name of BUILT_IN_ROLE_NAMES) {
      const role = BUILT_IN_ROLES[name];
      await this.prisma.role.upsert({
        where: { name },
        create: {
          id: `role_${name}`,
          name,
          description: role.description,
          permissions: role.permissions,
          builtIn: true,
        },
        update: { permissions: role.permissions, description: role.description, builtIn: true },
      });
    }
  }

  /**
   * First start: an admin from env, or a one-time setup token (returned, to be printed). A bootstrap
   * API key, when given, is made to exist with exactly that secret, owned by the first admin.
   */
  async bootstrap(opts: { adminEmail?: string; adminPassword?: string; bootstrapApiKey?: string }) {
    await this.ensureBuiltInRoles();
    let admin = await this.prisma.user.findFirst({
      where: { role: { name: "admin" }, disabled: false },
      orderBy: { createdAt: "asc" },
    });
    let setupToken: string | null = null;
    if (!admin && opts.adminEmail && opts.adminPassword) {
      admin = await this.createUser({
        email: opts.adminEmail,
        name: "admin",
        password: opts.adminPassword,
        role: "admin",
      });
    }
    if (!admin && opts.bootstrapApiKey) {
      // A key needs an owner: a service admin that cannot log in (no usable password).
      admin = await this.prisma.user.create({
        data: {
          id: randomUUID(),
          email: "bootstrap@vyvo.local",
          name: "bootstrap",
          passwordHash: "disabled",
          roleId: "role_admin",
        },
      });
    }
    if (opts.bootstrapApiKey && admin) await this.ensureApiKey(opts.bootstrapApiKey, admin.id, "bootstrap");
    const realAdmin = await this.prisma.user.count({
      where: { role: { name: "admin" }, disabled: false, passwordHash: { not: "disabled" } },
    });
    if (realAdmin === 0) {
      setupToken = `vyvo_setup_${randomBytes(24).toString("base64url")}`;
      await this.prisma.setupToken.create({
        data: {
          id: randomUUID(),
          tokenHash: hashSecret(setupToken),
          expiresAt: new Date(this.clock.now() + 24 * 3_600_000),
        },
      });
    }
    return { setupToken };
  }

  /** Exchanges the printed setup token for the first admin account. */
  async completeSetup(token: string, input: { email: string; name: string; password: string }): Promise<User> {
    const now = new Date(this.clock.now());
    return this.prisma.$transaction(async (tx) => {
      const claimed = await tx.setupToken.updateMany({
        where: { tokenHash: hashSecret(token), usedAt: null, expiresAt: { gt: now } },
        data: { usedAt: now },
      });
      if (claimed.count !== 1) throw new DomainError("SETUP_TOKEN_INVALID", "setup token is unknown, used or expired");
      return this.createUser({ ...input, role: "admin" }, tx);
    });
  }

  async createUser(
    input: { email: string; name: string; password: string; role: string },
    tx: Prisma.TransactionClient = this.prisma,
  ): Promise<User> {
    if (!EMAIL.test(input.email)) throw new DomainError("INVALID_INPUT", "email is not valid");
    if (input.password.length < MIN_PASSWORD_LENGTH) {
      throw new DomainError("INVALID_INPUT", `password must have at least ${MIN_PASSWORD_LENGTH} characters`);
    }
    const role = await tx.role.findUnique({ where: { name: input.role } });
    if (!role) throw notFound("role", input.role);
    try {
      return await tx.user.create({
        data: {
          id: randomUUID(),
          email: input.email.toLowerCase(),
          name: input.name,
          passwordHash: await hashPassword(input.password),
          roleId: role.id,
        },
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
        throw new DomainError("CONFLICT", `a user with email ${input.email} exists`);
      }
      throw error;
    }
  }

  async setUserRole(userId: string, roleName: string): Promise<User> {
    const role = await this.prisma.role.findUnique({ where: { name: roleName } });
    if (!role) throw notFound("role", roleName);
    const user = await this.prisma.user.update({ where: { id: userId }, data: { roleId: role.id } }).catch(() => null);
    if (!user) throw notFound("user", userId);
    // Cached keys carry the old role's permissions.
    this.announceRevoked({ kind: "none", id: `role-change:${userId}` });
    return user;
  }

  /** Disables a user: their sessions and keys stop working at once, live sockets included. */
  async disableUser(userId: string): Promise<User> {
    const user = await this.prisma.user.update({ where: { id: userId }, data: { disabled: true } }).catch(() => null);
    if (!user) throw notFound("user", userId);
    const now = new Date(this.clock.now());
    const sessions = await this.prisma.session.findMany({ where: { userId, revokedAt: null }, select: { id: true } });
    await this.prisma.session.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: now } });
    const keys = await this.prisma.apiKey.findMany({
      where: { ownerId: userId, revokedAt: null },
      select: { id: true },
    });
    await this.prisma.apiKey.updateMany({ where: { ownerId: userId, revokedAt: null }, data: { revokedAt: now } });
    for (const s of sessions) this.announceRevoked({ kind: "session", id: s.id });
    for (const k of keys) this.announceRevoked({ kind: "apiKey", id: k.id });
    return user;
  }

  async createRole(name: string, permissions: string[], description?: string) {
    const unknown = permissions.filter((p) => !ALL_PERMISSIONS.includes(p as Permission));
    if (unknown.length) throw new DomainError("INVALID_INPUT", `unknown permissions: ${unknown.join(", ")}`);
    if (!/^[a-z][a-z0-9-]{1,40}$/.test(name)) throw new DomainError("INVALID_INPUT", "role names are lowercase words");
    try {
      return await this.prisma.role.create({
        data: { id: `role_${name}`, name, permissions, description: description ?? null, builtIn: false },
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
        throw new DomainError("CONFLICT", `role ${name} exists`);
      }
      throw error;
    }
  }

  /** Checks a password (rate-limited per name and address) and opens a session. */
  async login(email: string, password: string, sourceIp: string) {
    const limited = await this.limiter.hit(
      `login:${email.toLowerCase()}:${sourceIp}`,
      this.config.loginAttemptsPerWindow,
      this.config.loginWindowMs,
    );
    if (!limited.allowed)
      throw new DomainError(
        "RATE_LIMITED",
        `too many login attempts; retry in ${Math.ceil(limited.retryAfterMs / 1000)} s`,
      );
    const user = await this.prisma.user.findUnique({ where: { email: email.toLowerCase() } });
    // Same work and the same answer whether the user exists or not.
    const ok = await verifyPassword(
      password,
      user?.passwordHash ?? "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    if (!user || !ok || user.disabled) throw new DomainError("INVALID_CREDENTIALS", "email or password is wrong");
    const sessionToken = `vyvo_session_${randomBytes(32).toString("base64url")}`;
    const csrfToken = randomBytes(24).toString("base64url");
    const session = await this.prisma.session.create({
      data: {
        id: randomUUID(),
        tokenHash: hashSecret(sessionToken),
        csrfToken,
        userId: user.id,
        expiresAt: new Date(this.clock.now() + this.config.sessionTtlMs),
      },
    });
    return { user, sessionToken, csrfToken, expiresAt: session.expiresAt, sessionId: session.id };
  }

  async logout(sessionId: string): Promise<void> {
    await this.prisma.session.updateMany({
      where: { id: sessionId, revokedAt: null },
      data: { revokedAt: new Date(this.clock.now()) },
    });
    this.announceRevoked({ kind: "session", id: sessionId });
  }

  async authenticateSession(token: string): Promise<Authenticated | null> {
    if (!token.startsWith("vyvo_session_")) return null;
    const session = await this.prisma.session.findUnique({
      where: { tokenHash: hashSecret(token) },
      include: { user: { include: { role: true } } },
    });
    const now = this.clock.now();
    if (!session || session.revokedAt || session.expiresAt.getTime() <= now || session.user.disabled) return null;
    const { user } = session;
    return {
      principal: {
        kind: "user",
        id: user.id,
        name: user.email,
        permissions: effectivePermissions(user.role.permissions, []),
      },
      credential: { kind: "session", id: session.id },
      csrfToken: session.csrfToken,
    };
  }

  async authenticateApiKey(secret: string): Promise<Authenticated | null> {
    const now = this.clock.now();
    const cacheKey = hashSecret(secret);
    const cached = this.keyCache.get(cacheKey);
    if (cached && now - cached.at < KEY_CACHE_MS && cached.expiresAt > now) return cached.auth;
    const key = await this.prisma.apiKey.findUnique({
      where: { prefix: prefixOf(secret) },
      include: { owner: { include: { role: true } } },
    });
    if (!key || !sameHash(key.secretHash, cacheKey)) return null;
    if (key.revokedAt || (key.expiresAt && key.expiresAt.getTime() <= now) || key.owner.disabled) return null;
    if (!key.lastUsedAt || now - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      // Coarse on purpose: one write a minute per key, not one per request.
      await this.prisma.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: new Date(now) } });
    }
    const auth: Authenticated = {
      principal: {
        kind: "apiKey",
        id: key.id,
        name: key.name,
        ownerId: key.ownerId,
        permissions: effectivePermissions(key.owner.role.permissions, key.scopes),
      },
      credential: { kind: "apiKey", id: key.id },
    };
    if (this.keyCache.size > 10_000) this.keyCache.clear();
    this.keyCache.set(cacheKey, { auth, at: now, expiresAt: key.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY });
    return auth;
  }

  /** Creates a key for `ownerId`; its secret is returned once. Scopes may not exceed the owner's rights. */
  async createApiKey(ownerId: string, input: { name: string; scopes?: string[]; expiresAt?: Date | null }) {
    const owner = await this.prisma.user.findUnique({ where: { id: ownerId }, include: { role: true } });
    if (!owner) throw notFound("user", ownerId);
    const scopes = input.scopes ?? [];
    const beyond = scopes.filter((s) => !owner.role.permissions.includes(s));
    if (beyond.length)
      throw new DomainError("FORBIDDEN", `a key cannot have permissions its owner lacks: ${beyond.join(", ")}`);
    if (input.expiresAt && input.expiresAt.getTime() <= this.clock.now())
      throw new DomainError("INVALID_INPUT", "expiresAt is in the past");
    if (!input.name.trim() || input.name.length > 100)
      throw new DomainError("INVALID_INPUT", "a key needs a name of 1 to 100 characters");
    const prefix = randomBytes(6).toString("hex");
    const secret = `vyvo_${prefix}_${randomBytes(32).toString("base64url")}`;
    const key = await this.prisma.apiKey.create({
      data: {
        id: randomUUID(),
        prefix,
        secretHash: hashSecret(secret),
        name: input.name,
        ownerId,
        scopes,
        expiresAt: input.expiresAt ?? null,
      },
    });
    return { key, secret };
  }

  async revokeApiKey(id: string, by: Principal): Promise<ApiKey> {
    const key = await this.prisma.apiKey.findUnique({ where: { id } });
    const ownerId = by.kind === "apiKey" ? by.ownerId : by.id;
    if (!key || (key.ownerId !== ownerId && !by.permissions.has("users:manage"))) throw notFound("API key", id);
    const revoked = await this.prisma.apiKey.update({
      where: { id },
      data: { revokedAt: key.revokedAt ?? new Date(this.clock.now()) },
    });
    this.announceRevoked({ kind: "apiKey", id });
    return revoked;
  }

  /** Makes sure a key with exactly this secret exists (VYVO_BOOTSTRAP_API_KEY). */
  private async ensureApiKey(secret: string, ownerId: string, name: string) {
    if (secret.length < 20)
      throw new DomainError("INVALID_INPUT", "VYVO_BOOTSTRAP_API_KEY must be at least 20 characters");
    const prefix = prefixOf(secret);
    await this.prisma.apiKey.upsert({
      where: { prefix },
      create: { id: randomUUID(), prefix, secretHash: hashSecret(secret), name, ownerId, scopes: [] },
      update: { secretHash: hashSecret(secret), revokedAt: null, expiresAt: null },
    });
  }

  private announceRevoked(credential: Credential) {
    this.keyCache.clear(); // this replica at once; the others when the event reaches them
    this.events.publish(topics.credentialRevoked, credential);
  }
}

/** Our keys carry their lookup prefix; a key given from outside (bootstrap) is found by a hash prefix. */
function prefixOf(secret: string): string {
  const match = secret.match(API_KEY_FORMAT);
  return match?.[1] ?? `x${createHash("sha256").update(secret).digest("hex").slice(0, 11)}`;
}
