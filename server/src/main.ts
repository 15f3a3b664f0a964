import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import pino from "pino";
import { AgentGateway } from "./agents/agent-gateway.js";
import { type Clock, systemClock } from "./clock.js";
import type { Config } from "./config.js";
import { openDatabase } from "./db/database.js";
import { type EventBus, createMemoryEventBus, createRedisEventBus } from "./events/event-bus.js";
import type { Services } from "./graphql/context.js";
import { buildSchema } from "./graphql/schema.js";
import { createGraphQLTransport } from "./http/graphql-transport.js";
import { createHttpServer } from "./http/http-server.js";
import { AttemptService } from "./jobs/attempt-service.js";
import { JobMaintenance } from "./jobs/job-maintenance.js";
import { JobService } from "./jobs/job-service.js";
import { JobTransitions } from "./jobs/job-transitions.js";
import { InputValidator } from "./models/input-validator.js";
import { ModelService } from "./models/model-service.js";
import { NodeService } from "./nodes/node-service.js";
import { MemoryQueue } from "./queue/memory-queue.js";
import type { QueuePort } from "./queue/port.js";
import { RedisQueue } from "./queue/redis-queue.js";
import { QueueService } from "./queues/queue-service.js";

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  maintenance: JobMaintenance;
  attempts: AttemptService;
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
    const connect = () => {
      const client = new Redis(config.REDIS_URL as string, { maxRetriesPerRequest: 3, lazyConnect: false });
      client.on("error", (error) => log.warn({ err: error }, "redis connection error"));
      redisClients.push(client);
      return client;
    };
    const commands = connect();
    queue = new RedisQueue(commands, { prefix: config.REDIS_PREFIX });
    events = createRedisEventBus(connect(), connect(), config.REDIS_PREFIX);
  } else {
    queue = new MemoryQueue();
    events = createMemoryEventBus();
  }

  const { prisma } = db;
  const validator = new InputValidator();
  const models = new ModelService(prisma, validator, () => clock.now());
  const transitions = new JobTransitions(prisma, events, clock);
  const jobs = new JobService(prisma, queue, events, transitions, models, validator, clock, {
    maxInputBytes: config.MAX_INPUT_BYTES,
    resultRetentionMs: config.RESULT_RETENTION_MS,
  });
  const attempts = new AttemptService(prisma, queue, events, transitions, clock, {
    retryBaseMs: config.RETRY_BASE_MS,
    retryMaxMs: config.RETRY_MAX_MS,
    resultRetentionMs: config.RESULT_RETENTION_MS,
  });
  const maintenance = new JobMaintenance(prisma, queue, events, transitions, clock, { leaseTtlMs: config.LEASE_TTL_MS });
  const nodes = new NodeService(prisma, clock, { enrollmentTokenTtlMs: config.ENROLLMENT_TOKEN_TTL_MS });
  const queues = new QueueService(prisma, queue, events, transitions);
  const agents = new AgentGateway(
    queue,
    attempts,
    nodes,
    events,
    clock,
    {
      heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
      leaseTtlMs: config.LEASE_TTL_MS,
      logFlushIntervalMs: config.LOG_FLUSH_INTERVAL_MS,
    },
    onError,
  );
  const services: Services = { prisma, events, jobs, models, nodes, queues, agents };

  const reconciled = await maintenance.reconcileQueue();
  log.info(reconciled, "queue reconciled from the database");

  const timers = [
    every(config.REAPER_INTERVAL_MS, () => attempts.reapExpiredLeases(), onError, "lease reaper"),
    every(config.DEADLINE_SWEEP_INTERVAL_MS, () => maintenance.enforceDeadlines(), onError, "deadline sweep"),
    every(60_000, () => maintenance.purgeExpiredResults(), onError, "retention purge"),
    every(config.HEARTBEAT_INTERVAL_MS, async () => agents.dispatchAll(), onError, "dispatch sweep"),
  ];

  const transport = createGraphQLTransport({
    schema: buildSchema(),
    services,
    production: config.NODE_ENV === "production",
    connectionInitWaitMs: config.CONNECTION_INIT_WAIT_MS,
    onError,
  });
  const httpServer = createHttpServer(transport.yoga, {
    ready: async () => {
      await prisma.$queryRaw`SELECT 1`;
      await queue.stats([]);
    },
  });
  const ws = transport.attach(httpServer);
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(config.PORT, config.HOST, resolve);
  });
  const port = (httpServer.address() as AddressInfo).port;
  const url = config.PUBLIC_URL ?? `http://${config.HOST === "0.0.0.0" ? "127.0.0.1" : config.HOST}:${port}`;
  log.info({ url, database: db.kind, queue: config.REDIS_URL ? "redis" : "memory" }, "vyvo server listening");

  let closed = false;
  return {
    url,
    port,
    services,
    maintenance,
    attempts,
    async close() {
      if (closed) return;
      closed = true;
      for (const stop of timers) stop();
      agents.close();
      await ws.close();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await queue.close();
      for (const client of redisClients) client.disconnect();
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
