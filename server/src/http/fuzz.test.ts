import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
import type { RunningServer } from "../main.js";
import { createTestModel } from "../testing/fixtures.js";
import { gqlData } from "../testing/graphql-client.js";
import { createTestEnv, startTestServer, TEST_API_KEY, type TestEnv } from "../testing/test-env.js";

// Hostile and malformed input, generated: GraphQL documents, variables, HTTP bodies and headers,
// WebSocket frames. Every answer must be a typed error or data; never a 5xx, a crash or an
// unhandled rejection. The seed is printed so a failure can be replayed (FUZZ_SEED=…).

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647);
const RUNS = { documents: 4_000, variables: 2_000, http: 2_500, frames: 1_500 };

let env: TestEnv;
let server: RunningServer;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  console.log(`fuzz seed: ${seed} (replay with FUZZ_SEED=${seed})`);
  process.on("unhandledRejection", onUnhandled);
  env = await createTestEnv();
  server = await startTestServer(env, { NODE_ENV: "production", RATE_LIMIT_PER_MINUTE: "1000000" });
  await createTestModel(server, "acme/echo");
});

afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  await server?.close();
  await env?.cleanup();
});

const admin = { authorization: `Bearer ${TEST_API_KEY}` };

/** Sends and checks one HTTP request: a typed JSON answer, never a 5xx. */
async function expectTyped(body: string, headers: Record<string, string>, path = "/graphql", method = "POST") {
  const response = await fetch(`${server.url}${path}`, { method, headers, ...(method === "GET" ? {} : { body }) });
  const text = await response.text();
  if (response.status >= 500)
    throw new Error(`${response.status} for ${JSON.stringify(body).slice(0, 300)}: ${text.slice(0, 300)}`);
  // yoga answers a method or media type it does not speak with a bare 405/415: typed by its status.
  const bareStatus = [404, 405, 415].includes(response.status) && text === "";
  if (path === "/graphql" && !bareStatus) {
    let parsed: { data?: unknown; errors?: { extensions?: { code?: string } }[] };
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(
        `${method} ${path} → ${response.status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 200))} (sent ${JSON.stringify(headers)} ${JSON.stringify(body.slice(0, 100))})`,
      );
    }
    for (const error of parsed.errors ?? []) {
      if (typeof error.extensions?.code !== "string")
        throw new Error(`untyped error for ${body.slice(0, 200)}: ${text.slice(0, 300)}`);
    }
    if (!parsed.errors && parsed.data === undefined) throw new Error(`neither data nor errors: ${text.slice(0, 300)}`);
  }
}

/** Runs `check` for every generated value, `parallel` at a time. */
async function fuzz<T>(arbitrary: fc.Arbitrary<T>, runs: number, check: (value: T) => Promise<void>, parallel = 16) {
  const values = fc.sample(arbitrary, { numRuns: runs, seed });
  for (let i = 0; i < values.length; i += parallel) await Promise.all(values.slice(i, i + parallel).map(check));
}

const VALID = [
  `{ jobs(first: 5) { edges { node { id status } } } }`,
  `mutation S($i: SubmitJobInput!) { submitJob(input: $i) { job { id } } }`,
  `query Q($id: ID!) { job(id: $id) { id logs { message } events { type } } }`,
  `{ queues { modelId depth } models { id versions { version } } }`,
  `mutation { cancelJob(id: "x") { status } }`,
];
const TOKENS = [
  "{",
  "}",
  "(",
  ")",
  "[",
  "]",
  "...",
  "on",
  "query",
  "mutation",
  "subscription",
  "fragment",
  "$",
  ":",
  "!",
  "@include",
  "__schema",
  "__type",
  "jobs",
  "job",
  "id",
  "first:",
  "1e309",
  '"',
  '"""',
  "#",
  "\\u0000",
  "alias:",
  "edges",
  "node",
];

const mutated = fc
  .tuple(
    fc.constantFrom(...VALID),
    fc.array(fc.tuple(fc.nat(), fc.nat({ max: 5 }), fc.string({ maxLength: 4 })), { maxLength: 6 }),
  )
  .map(([doc, edits]) =>
    edits.reduce(
      (d, [at, del, ins]) => d.slice(0, at % (d.length + 1)) + ins + d.slice((at % (d.length + 1)) + del),
      doc,
    ),
  );
const tokenSoup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }).map((parts) => parts.join(" "));
const deep = fc.integer({ min: 1, max: 60 }).map((n) => `{ ${'job(id: "x") { '.repeat(n)}id${" }".repeat(n)} }`);
const aliases = fc
  .integer({ min: 1, max: 200 })
  .map((n) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewer { kind }`).join(" ")} }`);
const documents = fc.oneof(
  mutated,
  tokenSoup,
  deep,
  aliases,
  fc.string({ maxLength: 300 }),
  fc.string({ unit: "grapheme", maxLength: 200 }),
);

it(`survives ${RUNS.documents} malformed documents`, async () => {
  await fuzz(documents, RUNS.documents, (query) =>
    expectTyped(JSON.stringify({ query }), { "content-type": "application/json", ...admin }),
  );
}, 180_000);

it(`survives ${RUNS.variables} malformed variables`, async () => {
  const variables = fc.oneof(
    fc.jsonValue({ maxDepth: 6 }),
    fc.record({ i: fc.jsonValue({ maxDepth: 5 }) }),
    fc.record({
      i: fc.record({
        modelId: fc.oneof(fc.string(), fc.constant("acme/echo")),
        input: fc.jsonValue({ maxDepth: 8 }),
        priority: fc.oneof(fc.integer(), fc.double(), fc.string()),
      }),
    }),
    fc.record({ id: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.string())) }),
  );
  await fuzz(fc.tuple(fc.constantFrom(...VALID), variables), RUNS.variables, ([query, vars]) =>
    expectTyped(JSON.stringify({ query, variables: vars }), { "content-type": "application/json", ...admin }),
  );
}, 180_000);

it(`survives ${RUNS.http} malformed HTTP bodies and headers`, async () => {
  const headerValue = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.constantFrom(
      "Bearer",
      "Key ",
      "Bearer vyvo_node_x",
      "Bearer vyvo_0123456789ab_xxxxxxxxxxxxxxxxxxxxxxxx",
      "vyvo_session=bad",
    ),
  );
  const request = fc.record({
    body: fc.oneof(
      fc.string({ maxLength: 400 }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.constant("{"),
      fc.constant('{"query":'),
    ),
    contentType: fc.constantFrom(
      "application/json",
      "text/plain",
      "application/graphql-response+json",
      "multipart/form-data",
      "application/x-www-form-urlencoded",
      "garbage/x;;==",
    ),
    authorization: fc.option(headerValue, { nil: undefined }),
    cookie: fc.option(headerValue, { nil: undefined }),
    path: fc.constantFrom(
      "/graphql",
      "/graphql",
      "/graphql?query=%7B",
      "/artifacts/../../etc/passwd",
      "/artifacts/%2e%2e/x",
      "/readyz",
      "/nope",
    ),
    method: fc.constantFrom("POST", "POST", "GET", "PUT", "DELETE"),
  });
  await fuzz(request, RUNS.http, (r) => {
    // fetch refuses header values it cannot send; those never reach a server anyway.
    const clean = (v: string | undefined) => (v !== undefined && /^[\t\x20-\x7e]*$/.test(v) ? v : undefined);
    const headers: Record<string, string> = { "content-type": r.contentType };
    const authorization = clean(r.authorization);
    const cookie = clean(r.cookie);
    if (authorization !== undefined) headers.authorization = authorization;
    if (cookie !== undefined) headers.cookie = cookie;
    return expectTyped(r.body, headers, r.path, r.method);
  });
}, 180_000);

it(`survives ${RUNS.frames} malformed WebSocket frames`, async () => {
  const frame = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc
      .record({
        type: fc.constantFrom("connection_init", "subscribe", "complete", "ping", "pong", "next", "bogus"),
        id: fc.option(fc.string({ maxLength: 5 })),
        payload: fc.jsonValue(),
      })
      .map((v) => JSON.stringify(v)),
  );
  const batches = fc.array(frame, { minLength: 1, maxLength: 5 });
  const closes = new Map<number, number>();
  await fuzz(
    batches,
    RUNS.frames / 3,
    async (frames) => {
      const socket = new WebSocket(`${server.url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
      const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
      socket.on("error", () => {});
      await new Promise((resolve) => socket.on("open", resolve));
      for (const f of frames) socket.send(f);
      const code = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(0), 300))]);
      closes.set(code, (closes.get(code) ?? 0) + 1);
      socket.terminate();
    },
    8,
  );
  // Protocol violations close with graphql-ws's codes (4400 bad request; 4500 is what the library
  // answers to a client sending a server-only message such as "next"); never 1011 or a dropped server.
  expect(
    [...closes.keys()].every(
      (code) =>
        code === 0 ||
        code === 4400 ||
        code === 4401 ||
        code === 4403 ||
        code === 4408 ||
        code === 4409 ||
        code === 4429 ||
        code === 4500 ||
        code === 1000,
    ),
  ).toBe(true);
  console.log("close codes seen:", Object.fromEntries(closes));
}, 180_000);

it("is still healthy afterwards, with no unhandled rejection", async () => {
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  expect(await gqlData(server.url, "{ viewer { kind } }")).toEqual({ viewer: { kind: "apiKey" } });
  expect(unhandled).toEqual([]);
});
