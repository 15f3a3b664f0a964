import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pino from "pino";
import { AgentGateway } from "./agents/agent-gateway.js";
import { ArtifactService } from "./artifacts/artifact-service.js";
import type { ArtifactStore } from "./artifacts/artifact-store.js";
import { DownloadLinks } from "./artifacts/download-links.js";
import { LocalArtifactStore } from "./artifacts/local-artifact-store.js";
import { S3ArtifactStore } from "./artifacts/s3-artifact-store.js";
import { loadSigningSecret } from "./artifacts/signing.js";
import { AuditService } from "./audit/audit-service.js";
import { AuthService } from "./auth/auth-service.js";
import { MemoryRateLimiter, RedisRateLimiter } from "./auth/rate-limiter.js";
import { type Clock, systemClock } from "./clock.js";
import type { Config } from "./config.js";
import { openDatabase } from "./db/database.js";
import { createMemoryEventBus, createRedisEventBus, type EventBus } from "./events/event-bus.js";
import { apiKeyAuthenticator } from "./fal/fal-auth.js";
import { createFalRouter, createJwksHandler } from "./fal/fal-router.js";
import { falWebhookPayload } from "./fal/status-mapping.js";
import { UploadSigner } from "./fal/upload-signing.js";
import type { Services } from "./graphql/context.js";
import { buildSchema } from "./graphql/schema.js";
import { createAdminStatic, DEFAULT_ADMIN_DIR } from "./http/admin-static.js";
import { createArtifactRoutes } from "./http/artifact-routes.js";
import { createGraphQLTransport } from "./http/graphql-transport.js";
import { createHttpServer } from "./http/http-server.js";
import { AttemptService } from "./jobs/attempt-service.js";
import { JobMaintenance } from "./jobs/job-maintenance.js";
import { JobQueries } from "./jobs/job-queries.js";
import { JobService } from "./jobs/job-service.js";
import { JobTransitions } from "./jobs/job-transitions.js";
import { RunSpecCache } from "./jobs/run-spec-cache.js";
import { WorkSignal } from "./jobs/work-signal.js";
import { InputValidator } from "./models/input-validator.js";
import { ModelService } from "./models/model-service.js";
import { NodeCommands } from "./nodes/node-commands.js";
import { NodeLedger } from "./nodes/node-ledger.js";
import { defaultLostAfterMs, NodeMonitor, statsWriteIntervalFor } from "./nodes/node-monitor.js";
import { NodeService } from "./nodes/node-service.js";
import { NodeWork } from "./nodes/node-work.js";
import { ProvisioningService } from "./provisioning/provisioning-service.js";
import { loadNodeSecretsKey, SecretBox } from "./provisioning/secret-box.js";
import { MemoryQueue } from "./queue/memory-queue.js";
import type { QueuePort } from "./queue/port.js";
import { RedisQueue } from "./queue/redis-queue.js";
import { QueueService } from "./queues/queue-service.js";
import { loadWebhookSigningKey } from "./webhooks/signing-key.js";
import { WebhookService } from "./webhooks/webhook-service.js";

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  maintenance: JobMaintenance;
  attempts: AttemptService;
  /** Node presence and its loops (loss bound, sweep); tests read and drive it. */
  nodeMonitor: NodeMonitor;
  /** Printed at first start when no admin exists (see AuthService.bootstrap). */
  setupToken: string | null;
  close(): Promise<void>;
}

/**
 * The only place that wires drivers to services. Picks the production drivers when their
 * URLs are configured (Postgres, Redis) and the embedded ones otherwise.
 */
export async function startServer(config: Config, clock: Clock = systemClock): Promise<RunningServer> {
  const log = pino({ level: config.LOG_LEVEL, base: { service: "vyvo-server" } });
  const onError = (error: unknown, context: string) => log.error({ err: error }, `${context} failed`);

  const db = await openDatabase({
    dataDir: config.DATA_DIR,
    log: (msg) => log.info(msg),
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
  });
  const redisClients: Redis[] = [];
  let queue: QueuePort;
  let events: EventBus;
  if (config.REDIS_URL) {
    // Auto-pipelining sends the commands of one tick in one write (a report's fencing reads,
    // a batch's finishes, bursts of PUBLISH); a subscribed connection must not use it.
    const connect = (enableAutoPipelining = true) => {
      const client = new Redis(config.REDIS_URL as string, {
        maxRetriesPerRequest: 3,
        lazyConnect: false,
        enableAutoPipelining,
      });
      client.on("error", (error) => log.warn({ err: error }, "redis connection error"));
      redisClients.push(client);
      return client;
    };
    const commands = connect();
    queue = new RedisQueue(commands, { prefix: config.REDIS_PREFIX });
    // SUBSCRIBE may be written before ioredis's ready check (INFO), which the connection then
    // refuses in subscriber mode, failing the start at random: subscribe only once it is ready.
    const subscriber = connect(false);
    await new Promise<void>((resolve, reject) => {
      subscriber.once("ready", resolve);
      subscriber.once("error", reject);
    });
    events = createRedisEventBus(connect(), subscriber, config.REDIS_PREFIX);
  } else {
    queue = new MemoryQueue();
    events = createMemoryEventBus();
  }

  const { prisma } = db;
  const validator = new InputValidator();
  const models = new ModelService(prisma, validator, () => clock.now());
  const transitions = new JobTransitions(prisma, events, clock, db.sql);
  const runSpecs = new RunSpecCache();
  const work = new WorkSignal();
  const jobs = new JobService(prisma, queue, events, transitions, runSpecs, work, models, validator, clock, {
    maxInputBytes: config.MAX_INPUT_BYTES,
    resultRetentionMs: config.RESULT_RETENTION_MS,
  });
  const attempts = new AttemptService(prisma, queue, events, transitions, runSpecs, clock, {
    retryBaseMs: config.RETRY_BASE_MS,
    retryMaxMs: config.RETRY_MAX_MS,
    resultRetentionMs: config.RESULT_RETENTION_MS,
  });
  const maintenance = new JobMaintenance(prisma, queue, events, transitions, clock, {
    leaseTtlMs: config.LEASE_TTL_MS,
  });
  const nodeLedger = new NodeLedger(prisma, events, clock);
  // A node's attempts go back to the queue as its own retryable failures: fenced like any report.
  const nodeWork = new NodeWork(
    queue,
    async (nodeId, failed) => (await attempts.report(nodeId, { started: [], completed: [], failed })).failed,
    () => attempts.reapExpiredLeases(),
    events,
  );
  const nodeCommands = new NodeCommands(prisma, nodeLedger, events);
  const nodes = new NodeService(prisma, nodeLedger, nodeWork, nodeCommands, events, clock, {
    enrollmentTokenTtlMs: config.ENROLLMENT_TOKEN_TTL_MS,
  });
  const lostAfterMs =
    config.NODE_LOST_AFTER_MS ?? defaultLostAfterMs(config.HEARTBEAT_INTERVAL_MS, config.LEASE_TTL_MS);
  const nodeMonitor = new NodeMonitor(
    prisma,
    nodeLedger,
    nodeWork,
    events,
    clock,
    { lostAfterMs, statsWriteIntervalMs: statsWriteIntervalFor(lostAfterMs, config.HEARTBEAT_INTERVAL_MS) },
    onError,
  );
  const queues = new QueueService(prisma, queue, events, transitions);
  const agents = new AgentGateway(
    queue,
    attempts,
    nodeMonitor,
    events,
    clock,
    {
      heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
      leaseTtlMs: config.LEASE_TTL_MS,
      logFlushIntervalMs: config.LOG_FLUSH_INTERVAL_MS,
    },
    onError,
  );
  work.listen((modelId) => agents.dispatchFor(modelId));

  // Artifacts: S3 when a bucket is configured, the data folder otherwise. Their URLs need the
  // public base URL, which is known only once the server listens (PORT=0 in tests).
  let publicUrl = config.PUBLIC_URL?.replace(/\/+$/, "") ?? "";
  const baseUrl = () => publicUrl;
  const signingSecret = await loadSigningSecret(config.ARTIFACT_SIGNING_SECRET, config.DATA_DIR);
  const now = () => clock.now();
  let artifactStore: ArtifactStore;
  if (config.S3_BUCKET) {
    const s3 = new S3ArtifactStore({
      bucket: config.S3_BUCKET,
      keyPrefix: config.S3_KEY_PREFIX,
      region: config.S3_REGION,
      endpoint: config.S3_ENDPOINT,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      maxBytes: config.ARTIFACT_MAX_BYTES,
      now,
    });
    // A missing bucket is created (a fresh MinIO); an unreachable S3 must not stop the start.
    await s3.ensureBucket().then(
      (outcome) => log.info({ bucket: config.S3_BUCKET, outcome }, "artifact bucket checked"),
      (error: unknown) => log.warn({ err: error, bucket: config.S3_BUCKET }, "artifact bucket check failed"),
    );
    artifactStore = s3;
  } else {
    artifactStore = new LocalArtifactStore({
      root: join(config.DATA_DIR, "artifacts"),
      secret: signingSecret,
      baseUrl,
      maxBytes: config.ARTIFACT_MAX_BYTES,
      now,
    });
  }
  const artifacts = new ArtifactService(
    prisma,
    artifactStore,
    new DownloadLinks(signingSecret, baseUrl),
    async (nodeId, ref) => (await attempts.verify(nodeId, [ref]))[0] ?? { ok: false, reason: "unknown attempt" },
    { maxBytes: config.ARTIFACT_MAX_BYTES, presignTtlMs: config.ARTIFACT_PRESIGN_TTL_MS, maxFilesPerJob: 1_000 },
  );
  const rateLimiter = redisClients[0]
    ? new RedisRateLimiter(redisClients[0], config.REDIS_PREFIX)
    : new MemoryRateLimiter(() => clock.now());
  const auth = new AuthService(prisma, events, rateLimiter, clock, {
    sessionTtlMs: config.SESSION_TTL_MS,
    loginAttemptsPerWindow: config.LOGIN_ATTEMPTS_PER_WINDOW,
    loginWindowMs: config.LOGIN_WINDOW_MS,
  });
  const audit = new AuditService(prisma, events, clock, config.AUDIT_RETENTION_MS);
  const webhooks = new WebhookService(
    {
      prisma,
      events,
      clock,
      signingKey: await loadWebhookSigningKey(config.WEBHOOK_SIGNING_KEY, config.DATA_DIR),
      render: falWebhookPayload,
      onError,
    },
    {
      policy: {
        maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
        baseMs: config.WEBHOOK_RETRY_BASE_MS,
        maxMs: config.WEBHOOK_RETRY_MAX_MS,
        jitter: 0.2,
      },
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      retentionMs: config.RESULT_RETENTION_MS,
    },
  );
  webhooks.start();
  const provisioning = new ProvisioningService(
    prisma,
    nodes,
    nodeLedger,
    new SecretBox(await loadNodeSecretsKey(config.NODE_SECRETS_KEY, config.DATA_DIR)),
    events,
    clock,
    {
      bundlePath:
        config.AGENT_BUNDLE_PATH ?? fileURLToPath(new URL("../../agent/dist/vyvo-agent.mjs", import.meta.url)),
      serverUrl: () => config.AGENT_SERVER_URL ?? baseUrl(),
      sshTimeoutMs: config.PROVISION_SSH_TIMEOUT_MS,
      onlineTimeoutMs: config.PROVISION_ONLINE_TIMEOUT_MS,
    },
    onError,
  );
  const services: Services = {
    prisma,
    events,
    jobs,
    models,
    nodes,
    nodeCommands,
    provisioning,
    queues,
    agents,
    artifacts,
    auth,
    audit,
    webhooks,
  };

  const { setupToken } = await auth.bootstrap({
    ...(config.VYVO_ADMIN_EMAIL ? { adminEmail: config.VYVO_ADMIN_EMAIL } : {}),
    ...(config.VYVO_ADMIN_PASSWORD ? { adminPassword: config.VYVO_ADMIN_PASSWORD } : {}),
    ...(config.VYVO_BOOTSTRAP_API_KEY ? { bootstrapApiKey: config.VYVO_BOOTSTRAP_API_KEY } : {}),
  });
  if (setupToken) {
    log.warn({ setupToken }, "no admin exists yet: create one with the completeSetup mutation and this one-time token");
  }

  const reconciled = await maintenance.reconcileQueue();
  log.info(reconciled, "queue reconciled from the database");

  const timers = [
    every(config.REAPER_INTERVAL_MS, () => attempts.reapExpiredLeases(), onError, "lease reaper"),
    every(config.DEADLINE_SWEEP_INTERVAL_MS, () => maintenance.enforceDeadlines(), onError, "deadline sweep"),
    every(60_000, () => maintenance.purgeExpiredResults(), onError, "retention purge"),
    every(3_600_000, () => audit.purgeExpired(), onError, "audit retention"),
    every(60_000, () => artifacts.purgeDetached(), onError, "artifact purge"),
    every(config.WEBHOOK_SWEEP_INTERVAL_MS, () => webhooks.sweep(), onError, "webhook delivery"),
    every(3_600_000, () => webhooks.purgeExpired(), onError, "webhook retention"),
    every(config.HEARTBEAT_INTERVAL_MS, async () => agents.dispatchAll(), onError, "dispatch sweep"),
    every(config.NODE_SWEEP_INTERVAL_MS, () => nodeMonitor.sweep(), onError, "node sweep"),
  ];

  const transport = createGraphQLTransport({
    schema: buildSchema(),
    services,
    production: config.NODE_ENV === "production",
    connectionInitWaitMs: config.CONNECTION_INIT_WAIT_MS,
    limits: { maxDepth: config.MAX_QUERY_DEPTH, maxAliases: config.MAX_QUERY_ALIASES, maxCost: config.MAX_QUERY_COST },
    maxTokens: config.MAX_QUERY_TOKENS,
    rateLimiter,
    requestsPerMinute: config.RATE_LIMIT_PER_MINUTE,
    allowedOrigins: config.ALLOWED_ORIGINS,
    onError,
  });
  const httpServer = createHttpServer(
    transport.yoga,
    {
      ready: async () => {
        await prisma.$queryRaw`SELECT 1`;
        await queue.stats([]);
      },
    },
    {
      artifacts: createArtifactRoutes({
        local: artifactStore instanceof LocalArtifactStore ? artifactStore : null,
        downloads: artifacts,
        onError,
      }),
      fal: createFalRouter({
        jobs,
        queries: new JobQueries(prisma, db.sql),
        queues,
        models,
        events,
        webhooks,
        // Uploaded inputs live in the artifact store and are served back at /fal/files/<key>.
        files: artifactStore,
        signer: new UploadSigner(signingSecret, now),
        // Swap for the auth service's API keys once they serve the shim too.
        authenticate: apiKeyAuthenticator((secret) => auth.authenticateApiKey(secret)),
        publicUrl: config.PUBLIC_URL,
        maxBodyBytes: config.FAL_MAX_BODY_BYTES,
        dataUriOffloadBytes: config.FAL_DATA_URI_OFFLOAD_BYTES,
        syncTimeoutMs: config.FAL_SYNC_TIMEOUT_MS,
        onError,
      }),
      jwks: createJwksHandler(webhooks),
      admin: createAdminStatic({ root: DEFAULT_ADMIN_DIR }),
    },
    { maxGraphQLBodyBytes: config.MAX_GRAPHQL_BODY_BYTES },
  );
  const ws = transport.attach(httpServer);
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(config.PORT, config.HOST, resolve);
  });
  const port = (httpServer.address() as AddressInfo).port;
  const url = config.PUBLIC_URL ?? `http://${config.HOST === "0.0.0.0" ? "127.0.0.1" : config.HOST}:${port}`;
  publicUrl = url.replace(/\/+$/, "");
  log.info(
    {
      url,
      database: db.kind,
      queue: config.REDIS_URL ? "redis" : "memory",
      artifacts: artifactStore.kind,
      nodeLostAfterMs: lostAfterMs,
    },
    "vyvo server listening",
  );

  let closed = false;
  return {
    url,
    port,
    services,
    maintenance,
    attempts,
    nodeMonitor,
    setupToken,
    async close() {
      if (closed) return;
      closed = true;
      for (const stop of timers) stop();
      webhooks.stop();
      await provisioning.close();
      nodeMonitor.close();
      agents.close();
      auth.close();
      await ws.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await queue.close();
      for (const client of redisClients) client.disconnect();
      await artifactStore.close();
      await db.close();
    },
  };
}

/** Runs `task` every `ms`, never overlapping itself. */
function every(ms: number, task: () => Promise<unknown>, onError: (e: unknown, c: string) => void, name: string) {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    task()
      .catch((error) => onError(error, name))
      .finally(() => {
        running = false;
      });
  }, ms);
  timer.unref();
  return () => clearInterval(timer);
}
