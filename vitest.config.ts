import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

// Tests run against real PostgreSQL, Redis, S3-compatible and SSH servers: give them time,
// and keep parallelism at the two cores these machines have.
export default defineConfig({
  resolve: {
    // graphql ships CommonJS and ESM builds; Node loads the CommonJS one for our dependencies
    // (Pothos, yoga), so our own imports must get the same copy or schemas come "from another realm".
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: [
      "server/src/**/*.test.ts",
      "agent/**/*.test.ts",
      "runners/**/*.test.ts",
      "web/**/*.test.ts",
      "bench/**/*.test.ts",
    ],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    fileParallelism: true,
  },
});
