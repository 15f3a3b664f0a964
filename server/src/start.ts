import { join, resolve } from "node:path";
import { ConfigError, parseConfig } from "./config.js";
import { startServer } from "./main.js";
import { ensureAdminBuilt } from "./platform/admin-build.js";
import { EXAMPLE_MODEL_ID, ensureExampleModel } from "./platform/example-model.js";
import { startLocalAgent } from "./platform/local-agent.js";
import { loadLocalCredentials } from "./platform/local-credentials.js";

/**
 * `npm start`: the whole platform on one machine. The server (embedded PGlite, in-process queue
 * and local artifacts unless DATABASE_URL / REDIS_URL / S3_* say otherwise), one local agent and
 * the example runner. Ctrl-C stops everything it started.
 */
async function main() {
  const env = { ...process.env };
  const dataDir = resolve(env.DATA_DIR ?? ".data");
  const credentials = await loadLocalCredentials(dataDir);
  const config = parseConfig({
    ...env,
    DATA_DIR: dataDir,
    VYVO_BOOTSTRAP_API_KEY: env.VYVO_BOOTSTRAP_API_KEY ?? credentials.apiKey,
    VYVO_ADMIN_EMAIL: env.VYVO_ADMIN_EMAIL ?? credentials.adminEmail,
    VYVO_ADMIN_PASSWORD: env.VYVO_ADMIN_PASSWORD ?? credentials.adminPassword,
    LOG_LEVEL: env.LOG_LEVEL ?? "warn",
  });
  const apiKey = config.VYVO_BOOTSTRAP_API_KEY as string;
  await ensureAdminBuilt((line) => console.log(line));
  console.log("vyvo: starting the control plane…");
  const server = await startServer(config);
  await ensureExampleModel(server.services.prisma, server.services.models);
  const { token } = await server.services.nodes.createEnrollmentToken({ nodeName: "local", ttlMs: 10 * 60_000 });
  console.log("vyvo: starting the local agent…");
  const agent = startLocalAgent({
    serverUrl: server.url,
    workDir: join(dataDir, "agent"),
    enrollmentToken: token,
    capacity: 2,
    onLine: (line) => console.log(`[agent] ${line}`),
  });

  const submit = JSON.stringify({
    query: `mutation { submitJob(input: { modelId: "${EXAMPLE_MODEL_ID}", input: { operation: "thumbnail", width: 64, height: 64 } }) { job { id status } } }`,
  });
  console.log(`
  Vyvo is up.
    Admin console   ${server.url}/
    GraphQL         ${server.url}/graphql   (HTTP, SSE and WebSocket)
    fal queue API   ${server.url}/fal/queue/${EXAMPLE_MODEL_ID}
    Data folder     ${dataDir}
    Admin login     ${config.VYVO_ADMIN_EMAIL}${credentials.created ? `  password: ${config.VYVO_ADMIN_PASSWORD}  (shown once; kept in ${join(dataDir, "local-admin.json")})` : `  (password in ${join(dataDir, "local-admin.json")})`}

  Submit a job to the example runner:
    curl -s ${server.url}/graphql -H 'content-type: application/json' -H 'authorization: Bearer ${apiKey}' -d '${submit}'

  Then follow it:
    curl -s ${server.url}/graphql -H 'content-type: application/json' -H 'authorization: Bearer ${apiKey}' -d '{"query":"{ jobs(first: 1) { edges { node { id status output } } } }"}'

  Or call it the way fal clients do (waits for the result):
    curl -s -X POST ${server.url}/fal/run/${EXAMPLE_MODEL_ID} -H 'content-type: application/json' -H 'authorization: Key ${apiKey}' -d '{"operation":"blur","sigma":3}'

  Ctrl-C stops the server, the agent and its runners.
`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\nvyvo: ${signal}, stopping…`);
    await agent.stop();
    await server.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  agent.child.once("exit", (code) => {
    if (!stopping) console.error(`vyvo: the local agent exited (${code}); the server keeps running`);
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
