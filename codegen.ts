import type { CodegenConfig } from "@graphql-codegen/cli";

/**
 * Typed documents for the admin (web/src/gql, committed) from schema/schema.graphql. Documents are
 * the `graphql(...)` calls in web/src; `npm run codegen` writes them, and web/test/codegen.test.ts
 * fails when the committed output differs from what this config generates (schema or document drift).
 */
const config: CodegenConfig = {
  schema: "schema/schema.graphql",
  documents: ["web/src/**/*.{ts,tsx}", "!web/src/gql/**"],
  ignoreNoDocuments: false,
  generates: {
    "web/src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: "string", JSON: "unknown" },
        strictScalars: true,
        enumsAsTypes: true,
        useTypeImports: true,
        onlyOperationTypes: true,
        skipTypename: false,
      },
    },
  },
};

export default config;
