import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { actorOf, can, type Permission, type Principal } from "../auth/permissions.js";
import type { EventBus } from "../events/event-bus.js";
import type { JobQueries } from "../jobs/job-queries.js";
import type { JobService } from "../jobs/job-service.js";
import type { ModelService } from "../models/model-service.js";
import type { QueueService } from "../queues/queue-service.js";
import type { Jwk } from "../webhooks/webhook-signer.js";
import { FalHttpError } from "./fal-errors.js";
import type { UploadSigner } from "./upload-signing.js";

/**
 * Where uploaded files live: the artifact store (S3 or the local folder) fits this as it is.
 * Files are served back by the shim at /fal/files/<key>, so their URLs never expire.
 */
export interface FalFileStore {
  put(key: string, body: Readable, opts: { contentType: string }): Promise<{ sizeBytes: number }>;
  get(key: string): Promise<{ body: Readable; contentType: string; sizeBytes: number } | null>;
  delete(key: string): Promise<void>;
}

/**
 * Who presents `Authorization` (fal sends `Key <secret>`): a principal, or null when the
 * credential is missing or wrong. The auth service replaces the configured-keys version.
 */
export type FalAuthenticate = (authorization: string | undefined) => Promise<Principal | null>;

export interface FalWebhooks {
  register(jobId: string, url: string, userId: string): Promise<unknown>;
  jwks(): { keys: Jwk[] };
}

export interface FalDeps {
  jobs: JobService;
  queries: JobQueries;
  queues: QueueService;
  models: ModelService;
  events: EventBus;
  webhooks: FalWebhooks;
  files: FalFileStore;
  signer: UploadSigner;
  authenticate: FalAuthenticate;
  /** PUBLIC_URL; when unset, URLs we hand out use the request's Host. */
  publicUrl: string | undefined;
  /** Largest request body (JSON with inline data URIs, an upload, a part). */
  maxBodyBytes: number;
  /** Data URIs longer than this are stored and replaced by their file URL; 0 keeps them inline. */
  dataUriOffloadBytes: number;
  /** How long a sync run (`/fal/run`) waits for its result. */
  syncTimeoutMs: number;
  onError: (error: unknown, context: string) => void;
}

/** One request, once routed and authenticated. */
export interface FalCall {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Our public origin, e.g. http://10.0.0.5:4000. */
  origin: string;
  principal: Principal;
}

export function actor(call: FalCall): string {
  return actorOf(call.principal);
}

export function requirePermission(call: FalCall, permission: Permission): void {
  if (!can(call.principal, permission))
    throw FalHttpError.detail(403, `this key may not do that (needs ${permission})`);
}

/** The absolute queue prefix that status, result and cancel URLs hang off. */
export function queueBase(call: FalCall): string {
  return `${call.origin}/fal/queue`;
}
