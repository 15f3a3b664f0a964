import { defineConfig } from "prisma/config";

// The URL is only read by commands that talk to a database; generate works without it.
export default defineConfig({
  schema: "schema/prisma/schema.prisma",
  migrations: { path: "schema/prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/vyvo" },
});
