import { ConfigError, parseConfig } from "./config.js";
import { startServer } from "./main.js";

// The server process: `tsx server/src/serve.ts`. Config comes from the environment.
try {
  const server = await startServer(parseConfig());
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`${signal}: shutting down`);
    await server.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  // Tests and supervisors read this line to learn the address.
  console.log(`VYVO_SERVER_READY ${server.url}`);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}
