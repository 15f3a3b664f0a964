import { defineConfig } from "vitest/config";

// Tests run against real PostgreSQL, Redis, S3-compatible and SSH servers: give them time,
// and keep parallelism at the two cores these machines have.
export default defineConfig({
  test: {
    include: ["server/src/**/*.test.ts", "agent/**/*.test.ts", "runners/**/*.test.ts", "web/**/*.test.ts", "bench/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    fileParallelism: true,
  },
});
