import { existsSync, readFileSync } from "node:fs";
import { buildSchema, type GraphQLSchema, parse, validate } from "graphql";
import { describe, expect, it } from "vitest";
import {
  COMMANDS_SUBSCRIPTION,
  ENROLL_MUTATION,
  HEARTBEAT_MUTATION,
  parseCommand,
  parseRunnerSpec,
  REPORT_MUTATION,
  UPLOAD_MUTATION,
} from "../src/protocol.js";
import { PROTOCOL_SDL } from "./helpers/scripted-server.js";

const documents = {
  enrollNode: ENROLL_MUTATION,
  agentCommands: COMMANDS_SUBSCRIPTION,
  agentHeartbeat: HEARTBEAT_MUTATION,
  agentReport: REPORT_MUTATION,
  agentArtifactUpload: UPLOAD_MUTATION,
};

const errorsIn = (schema: GraphQLSchema, doc: string) => validate(schema, parse(doc)).map((e) => e.message);

describe("protocol documents", () => {
  const protocolSchema = buildSchema(PROTOCOL_SDL);
  for (const [field, doc] of Object.entries(documents)) {
    it(`${field} is valid against the schema written from PROTOCOL.md`, () => {
      expect(errorsIn(protocolSchema, doc)).toEqual([]);
    });
  }

  // The server's printed schema is written by the server work in parallel: check what it already has.
  const printed = new URL("../../schema/schema.graphql", import.meta.url);
  const serverSchema = existsSync(printed) ? buildSchema(readFileSync(printed, "utf8")) : undefined;
  for (const [field, doc] of Object.entries(documents)) {
    const root = field === "agentCommands" ? serverSchema?.getSubscriptionType() : serverSchema?.getMutationType();
    const present = root?.getFields()[field] !== undefined;
    it.skipIf(!present)(`${field} is valid against schema/schema.graphql${present ? "" : " (not there yet)"}`, () => {
      expect(errorsIn(serverSchema!, doc)).toEqual([]);
    });
  }
});

describe("commands", () => {
  it("parses the three command kinds", () => {
    expect(
      parseCommand({
        __typename: "HelloCommand",
        commandId: "c",
        nodeId: "n",
        heartbeatIntervalMs: 1,
        leaseTtlMs: 2,
        logFlushIntervalMs: 3,
      }).ok,
    ).toBe(true);
    const run = parseCommand({
      __typename: "RunJobCommand",
      commandId: "c",
      jobId: "j",
      attemptId: "a",
      modelId: "m",
      modelVersionId: "v",
      route: null,
      input: { x: 1 },
      runner: { kind: "process", command: "python" },
      timeoutMs: null,
      leaseExpiresAt: "2025-01-01T00:00:00Z",
    });
    expect(run).toMatchObject({ ok: true, command: { route: null, timeoutMs: null, input: { x: 1 } } });
    // the server may leave graceMs out (the lease-lost cancels): the agent's default grace applies then
    expect(
      parseCommand({
        __typename: "CancelJobCommand",
        commandId: "c",
        jobId: "j",
        attemptId: "a",
        reason: "lease lost",
      }),
    ).toMatchObject({
      ok: true,
      command: { graceMs: null },
    });
  });

  it("refuses unknown and malformed commands without throwing", () => {
    expect(parseCommand({ __typename: "ProvisionCommand", commandId: "c" })).toMatchObject({
      ok: false,
      typename: "ProvisionCommand",
    });
    expect(parseCommand({ __typename: "RunJobCommand", commandId: "c", jobId: "j" })).toMatchObject({ ok: false });
    expect(parseCommand(null)).toMatchObject({ ok: false, typename: "?" });
  });

  it("reads runner specs of both kinds, as JSON or as a JSON string", () => {
    expect(parseRunnerSpec({ kind: "process", command: "python", args: ["app.py"], env: { A: 1 } })).toEqual({
      ok: true,
      spec: { kind: "process", command: "python", args: ["app.py"], env: { A: "1" } },
    });
    expect(parseRunnerSpec('{"kind":"container","image":"acme/flux:1","gpus":[0,1]}')).toMatchObject({
      ok: true,
      spec: { kind: "container", image: "acme/flux:1", gpus: [0, 1], args: [], env: {} },
    });
    expect(parseRunnerSpec({ kind: "process" })).toMatchObject({
      ok: false,
      error: expect.stringContaining("runner.command"),
    });
    expect(parseRunnerSpec("not json")).toMatchObject({ ok: false });
  });
});
