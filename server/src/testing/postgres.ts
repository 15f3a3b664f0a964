// Throwaway databases on the real PostgreSQL server, one per test file, so parallel runs
// never share tables. Tests use real Postgres, never mocks.
import { randomBytes } from "node:crypto";
import pg from "pg";

export const testServerUrl = process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  /** Connection URL of the new, empty database. */
  url: string;
  /** Ends every connection to it and drops it. */
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `vyvo_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  await withAdminClient((client) => client.query(`CREATE DATABASE "${name}"`));

  const url = new URL(testServerUrl);
  url.pathname = `/${name}`;

  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdminClient(async (client) => {
        // A pool that was not closed would keep the database busy and make DROP fail.
        await client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [name]);
        await client.query(`DROP DATABASE IF EXISTS "${name}"`);
      });
    },
  };
}

async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testServerUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
