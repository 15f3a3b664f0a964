import { z } from "zod";

/**
 * The GraphQL documents of agent/PROTOCOL.md, their variables and results. Commands arrive as JSON from the server
 * and are checked with zod before the agent acts on them: a malformed command is logged and skipped, never trusted.
 */

export const ENROLL_MUTATION = `mutation Enroll($input: EnrollNodeInput!) {
  enrollNode(input: $input) { nodeId nodeToken }
}`;

export const COMMANDS_SUBSCRIPTION = `subscription Commands($capacity: Int!, $models: [String!], $running: [AttemptRefInput!]) {
  agentCommands(capacity: $capacity, models: $models, running: $running) {
    __typename
    ... on HelloCommand { commandId nodeId heartbeatIntervalMs leaseTtlMs logFlushIntervalMs }
    ... on RunJobCommand {
      commandId jobId attemptId modelId modelVersionId route input runner timeoutMs leaseExpiresAt
    }
    ... on CancelJobCommand { commandId jobId attemptId reason graceMs }
    ... on ConfigureEnvCommand { commandId env secrets unset }
    ... on PrefetchRunnerCommand { commandId modelId modelVersionId runner }
    ... on RemoveRunnerCommand { commandId modelId modelVersionId runner }
    ... on RestartAgentCommand { commandId reason }
    ... on UpgradeAgentCommand { commandId bundleUrl sha256 }
    ... on DrainCommand { commandId deadlineMs }
    ... on ResumeWorkCommand { commandId }
  }
}`;

export const HEARTBEAT_MUTATION = `mutation Heartbeat($input: HeartbeatInput!) {
  agentHeartbeat(input: $input) { lostAttemptIds serverTime }
}`;

export const REPORT_MUTATION = `mutation Report($input: AgentReportInput!) {
  agentReport(input: $input) { accepted rejected { attemptId reason } }
}`;

export const UPLOAD_MUTATION = `mutation Upload($input: ArtifactUploadInput!) {
  agentArtifactUpload(input: $input) { artifactId uploadUrl url }
}`;

// ---- inputs ------------------------------------------------------------------------------------------------------

export interface AttemptRef {
  jobId: string;
  attemptId: string;
}

export interface CommandsVariables {
  capacity: number;
  models: string[] | null;
  running: AttemptRef[];
}

export interface GpuInput {
  index: number;
  uuid: string;
  name: string;
  memoryTotalMb: number;
  memoryUsedMb: number;
  utilizationPct: number | null;
  temperatureC: number | null;
  powerW: number | null;
  driverVersion: string | null;
  cudaVersion: string | null;
}

export interface RunnerStateInput {
  modelVersionId: string;
  state: string;
  pid: number | null;
  port: number | null;
  runs: number;
}

export interface HeartbeatInput {
  freeSlots: number;
  running: AttemptRef[];
  gpus: GpuInput[];
  runners: RunnerStateInput[];
  agentVersion: string;
}

export interface HeartbeatResult {
  agentHeartbeat: { lostAttemptIds: string[]; serverTime: string };
}

/** R13 steps, in the order they happen. */
export type AckStep = "received" | "request_aborted" | "sigterm" | "sigkill" | "stopped";

/**
 * PROTOCOL.md lists commandId, step and detail; the server's schema also takes the attempt the command is about
 * (optional), which records the step on the job. The agent sends them for CancelJob acks.
 */
export interface CommandAckInput {
  commandId: string;
  step: string;
  detail?: string | null;
  jobId?: string | null;
  attemptId?: string | null;
}

export interface LogLineInput extends AttemptRef {
  seq: number;
  level: string;
  message: string;
  at: string;
}

export interface ProgressInput extends AttemptRef {
  progress: number;
  message?: string | null;
}

export interface CompletionInput extends AttemptRef {
  output: unknown;
}

export interface FailureInput extends AttemptRef {
  error: string;
  errorType: string;
  cause: string;
  retryable: boolean;
}

export interface AgentReportInput {
  acks?: CommandAckInput[];
  started?: AttemptRef[];
  logs?: LogLineInput[];
  progress?: ProgressInput[];
  completed?: CompletionInput[];
  failed?: FailureInput[];
  cancelled?: AttemptRef[];
}

export interface AgentReportResult {
  agentReport: { accepted: unknown; rejected: { attemptId: string; reason: string }[] | null };
}

export interface ArtifactUploadInput extends AttemptRef {
  fileName: string;
  contentType: string;
  sizeBytes: number;
}

export interface ArtifactUploadResult {
  agentArtifactUpload: { artifactId: string; uploadUrl: string; url: string };
}

export interface EnrollResult {
  enrollNode: { nodeId: string; nodeToken: string };
}

// ---- commands ----------------------------------------------------------------------------------------------------

const nonEmpty = z.string().min(1);

export const HelloCommandSchema = z.object({
  __typename: z.literal("HelloCommand"),
  commandId: z.string(),
  nodeId: z.string(),
  heartbeatIntervalMs: z.number().int().positive(),
  leaseTtlMs: z.number().int().positive(),
  logFlushIntervalMs: z.number().int().positive(),
});

export const RunJobCommandSchema = z.object({
  __typename: z.literal("RunJobCommand"),
  commandId: z.string(),
  jobId: nonEmpty,
  attemptId: nonEmpty,
  modelId: nonEmpty,
  modelVersionId: nonEmpty,
  route: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
  input: z.unknown(),
  runner: z.unknown(),
  timeoutMs: z
    .number()
    .int()
    .nonnegative()
    .nullish()
    .transform((v) => v ?? null),
  leaseExpiresAt: z.string().nullish(),
});

export const CancelJobCommandSchema = z.object({
  __typename: z.literal("CancelJobCommand"),
  commandId: z.string(),
  jobId: nonEmpty,
  attemptId: nonEmpty,
  reason: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
  graceMs: z
    .number()
    .int()
    .nonnegative()
    .nullish()
    .transform((v) => v ?? null),
});

// Node commands: about the host rather than a job; each is acked step by step (acks without jobId).

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");
const envMap = z
  .record(envName, z.string())
  .nullish()
  .transform((v) => v ?? {});

export const ConfigureEnvCommandSchema = z.object({
  __typename: z.literal("ConfigureEnvCommand"),
  commandId: nonEmpty,
  env: envMap,
  secrets: envMap,
  unset: z
    .array(envName)
    .nullish()
    .transform((v) => v ?? []),
});

export const PrefetchRunnerCommandSchema = z.object({
  __typename: z.literal("PrefetchRunnerCommand"),
  commandId: nonEmpty,
  modelId: nonEmpty,
  modelVersionId: nonEmpty,
  runner: z.unknown(),
});

export const RemoveRunnerCommandSchema = z.object({
  __typename: z.literal("RemoveRunnerCommand"),
  commandId: nonEmpty,
  modelId: nonEmpty,
  modelVersionId: nonEmpty,
  runner: z.unknown(),
});

export const RestartAgentCommandSchema = z.object({
  __typename: z.literal("RestartAgentCommand"),
  commandId: nonEmpty,
  reason: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
});

export const UpgradeAgentCommandSchema = z.object({
  __typename: z.literal("UpgradeAgentCommand"),
  commandId: nonEmpty,
  bundleUrl: nonEmpty,
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits"),
});

export const DrainCommandSchema = z.object({
  __typename: z.literal("DrainCommand"),
  commandId: nonEmpty,
  deadlineMs: z
    .number()
    .int()
    .nonnegative()
    .nullish()
    .transform((v) => v ?? null),
});

export const ResumeWorkCommandSchema = z.object({
  __typename: z.literal("ResumeWorkCommand"),
  commandId: nonEmpty,
});

export type HelloCommand = z.output<typeof HelloCommandSchema>;
export type RunJobCommand = z.output<typeof RunJobCommandSchema>;
export type CancelJobCommand = z.output<typeof CancelJobCommandSchema>;
export type ConfigureEnvCommand = z.output<typeof ConfigureEnvCommandSchema>;
export type PrefetchRunnerCommand = z.output<typeof PrefetchRunnerCommandSchema>;
export type RemoveRunnerCommand = z.output<typeof RemoveRunnerCommandSchema>;
export type RestartAgentCommand = z.output<typeof RestartAgentCommandSchema>;
export type UpgradeAgentCommand = z.output<typeof UpgradeAgentCommandSchema>;
export type DrainCommand = z.output<typeof DrainCommandSchema>;
export type ResumeWorkCommand = z.output<typeof ResumeWorkCommandSchema>;
export type NodeCommand =
  | ConfigureEnvCommand
  | PrefetchRunnerCommand
  | RemoveRunnerCommand
  | RestartAgentCommand
  | UpgradeAgentCommand
  | DrainCommand
  | ResumeWorkCommand;
export type AgentCommand = HelloCommand | RunJobCommand | CancelJobCommand | NodeCommand;

const COMMAND_SCHEMAS: Record<string, z.ZodType<AgentCommand>> = {
  HelloCommand: HelloCommandSchema,
  RunJobCommand: RunJobCommandSchema,
  CancelJobCommand: CancelJobCommandSchema,
  ConfigureEnvCommand: ConfigureEnvCommandSchema,
  PrefetchRunnerCommand: PrefetchRunnerCommandSchema,
  RemoveRunnerCommand: RemoveRunnerCommandSchema,
  RestartAgentCommand: RestartAgentCommandSchema,
  UpgradeAgentCommand: UpgradeAgentCommandSchema,
  DrainCommand: DrainCommandSchema,
  ResumeWorkCommand: ResumeWorkCommandSchema,
};

export type ParsedCommand =
  | { ok: true; command: AgentCommand }
  | { ok: false; typename: string; commandId?: string; error: string };

/** Checks one command of a batch. Unknown kinds (a newer server) are reported as not ok, never guessed at. */
export function parseCommand(raw: unknown): ParsedCommand {
  const obj = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : {};
  const typename = typeof obj.__typename === "string" ? obj.__typename : "?";
  const commandId = typeof obj.commandId === "string" ? obj.commandId : undefined;
  const schema = Object.hasOwn(COMMAND_SCHEMAS, typename) ? COMMAND_SCHEMAS[typename] : undefined;
  if (!schema) return { ok: false, typename, commandId, error: `unknown command ${typename}` };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const error = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    return { ok: false, typename, commandId, error };
  }
  return { ok: true, command: parsed.data };
}

// ---- runner spec (RunJobCommand.runner) --------------------------------------------------------------------------

const envRecord = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
  .nullish()
  .transform((v) => v ?? {});
const argList = z
  .array(z.string())
  .nullish()
  .transform((v) => v ?? []);

export const ProcessRunnerSpecSchema = z.object({
  kind: z.literal("process"),
  command: nonEmpty,
  args: argList,
  cwd: z.string().min(1).nullish(),
  env: envRecord,
  artifactUrl: z.string().min(1).nullish(),
});

export const ContainerRunnerSpecSchema = z.object({
  kind: z.literal("container"),
  image: nonEmpty,
  args: argList,
  env: envRecord,
  /** "all" (the default), a count, or a list of device indexes or UUIDs. */
  gpus: z
    .union([
      z.literal("all"),
      z.literal("none"),
      z.number().int().nonnegative(),
      z.array(z.union([z.string().min(1), z.number().int().nonnegative()])),
    ])
    .nullish(),
});

export const RunnerSpecSchema = z.discriminatedUnion("kind", [ProcessRunnerSpecSchema, ContainerRunnerSpecSchema]);

export type ProcessRunnerSpec = z.output<typeof ProcessRunnerSpecSchema>;
export type ContainerRunnerSpec = z.output<typeof ContainerRunnerSpecSchema>;
export type RunnerSpec = z.output<typeof RunnerSpecSchema>;

/** `runner` is JSON; a server that stores it as a JSON string is accepted too. */
export function parseRunnerSpec(raw: unknown): { ok: true; spec: RunnerSpec } | { ok: false; error: string } {
  let value = raw;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return { ok: false, error: "runner is a string that is not JSON" };
    }
  }
  const parsed = RunnerSpecSchema.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      error: parsed.error.issues.map((i) => `runner.${i.path.join(".") || "kind"}: ${i.message}`).join("; "),
    };
  }
  return { ok: true, spec: parsed.data };
}
