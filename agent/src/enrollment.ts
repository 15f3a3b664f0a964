import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { graphqlHttpUrl } from "./config.js";
import { errorMessage, type Logger } from "./log.js";
import { ENROLL_MUTATION, type EnrollResult } from "./protocol.js";

/**
 * Enrollment (R1, R2): a single-use enrollment token is exchanged once for a per-node token over plain HTTP; the
 * node token is saved in the work folder (mode 0600) and reused on every restart.
 */

export const TOKEN_FILE = "node-token.json";

export class EnrollmentError extends Error {
  override name = "EnrollmentError";

  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface SavedToken {
  serverUrl: string;
  nodeId: string;
  nodeToken: string;
  enrolledAt: string;
}

export function tokenPath(workDir: string): string {
  return path.join(workDir, TOKEN_FILE);
}

export async function readSavedToken(workDir: string, log?: Logger): Promise<SavedToken | undefined> {
  const file = tokenPath(workDir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new EnrollmentError(`cannot read ${file}: ${errorMessage(error)}`);
  }
  let data: Partial<SavedToken>;
  try {
    data = JSON.parse(text) as Partial<SavedToken>;
  } catch {
    throw new EnrollmentError(`${file} is not valid JSON: delete it and enroll again`);
  }
  if (typeof data.nodeToken !== "string" || data.nodeToken === "") {
    throw new EnrollmentError(`${file} holds no nodeToken: delete it and enroll again`);
  }
  const mode = (await stat(file)).mode & 0o777;
  if (mode & 0o077) {
    log?.warn("node token file was readable by others: restricting it to 0600", { file, mode: mode.toString(8) });
    await chmod(file, 0o600);
  }
  return {
    serverUrl: String(data.serverUrl ?? ""),
    nodeId: String(data.nodeId ?? ""),
    nodeToken: data.nodeToken,
    enrolledAt: String(data.enrolledAt ?? ""),
  };
}

/** Writes the token file atomically, readable by the agent's user only. */
export async function saveToken(workDir: string, token: SavedToken): Promise<string> {
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  const file = tokenPath(workDir);
  const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(token, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  return file;
}

export interface EnrollRequest {
  serverUrl: string;
  enrollmentToken: string;
  name: string;
  fetchFn?: typeof fetch;
  timeoutMs?: number;
}

/** `enrollNode` over HTTP POST /graphql. Refused tokens (R1) throw EnrollmentError with code ENROLLMENT_TOKEN_INVALID. */
export async function enrollNode(req: EnrollRequest): Promise<{ nodeId: string; nodeToken: string }> {
  const url = graphqlHttpUrl(req.serverUrl);
  let res: Response;
  try {
    res = await (req.fetchFn ?? fetch)(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json, application/json" },
      body: JSON.stringify({
        query: ENROLL_MUTATION,
        operationName: "Enroll",
        variables: { input: { enrollmentToken: req.enrollmentToken, name: req.name } },
      }),
      signal: AbortSignal.timeout(req.timeoutMs ?? 30_000),
    });
  } catch (error) {
    throw new EnrollmentError(`cannot reach ${url}: ${errorMessage(error)}`, "UNREACHABLE");
  }
  let body: { data?: EnrollResult | null; errors?: { message: string; extensions?: { code?: unknown } }[] };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new EnrollmentError(
      `enrollment failed: ${url} answered HTTP ${res.status} without GraphQL JSON`,
      "BAD_RESPONSE",
    );
  }
  const first = body.errors?.[0];
  if (first) {
    const code = typeof first.extensions?.code === "string" ? first.extensions.code : undefined;
    if (code === "ENROLLMENT_TOKEN_INVALID") {
      throw new EnrollmentError(
        "the enrollment token was refused (used, expired or unknown): create a new one on the server",
        code,
      );
    }
    throw new EnrollmentError(`enrollment failed: ${first.message}`, code);
  }
  const result = body.data?.enrollNode;
  if (!result?.nodeToken)
    throw new EnrollmentError(`enrollment failed: HTTP ${res.status}, no node token in the answer`);
  return result;
}

export interface Credentials {
  nodeToken: string;
  nodeId: string | undefined;
  source: "config" | "saved" | "enrolled";
}

/**
 * Which node token to use: one given in the config; else the saved one (R2); else enroll with the enrollment token
 * and save the result. With none of these the agent cannot start and says what to pass.
 */
export async function resolveCredentials(
  config: { serverUrl: string; workDir: string; nodeToken?: string; enrollmentToken?: string; nodeName: string },
  deps: { log: Logger; fetchFn?: typeof fetch; now?: () => Date },
): Promise<Credentials> {
  if (config.nodeToken) return { nodeToken: config.nodeToken, nodeId: undefined, source: "config" };
  const saved = await readSavedToken(config.workDir, deps.log);
  if (saved) {
    if (saved.serverUrl && saved.serverUrl !== config.serverUrl) {
      deps.log.warn("the saved node token was issued by another server URL; using it anyway", {
        savedFor: saved.serverUrl,
        serverUrl: config.serverUrl,
      });
    }
    if (config.enrollmentToken) {
      deps.log.info("a node token is already saved: the enrollment token is not used", {
        file: tokenPath(config.workDir),
      });
    }
    return { nodeToken: saved.nodeToken, nodeId: saved.nodeId || undefined, source: "saved" };
  }
  if (!config.enrollmentToken) {
    throw new EnrollmentError(
      `no credentials: pass --enrollment-token (VYVO_ENROLLMENT_TOKEN) for the first start, or --node-token ` +
        `(VYVO_NODE_TOKEN); no saved token at ${tokenPath(config.workDir)}`,
      "NO_CREDENTIALS",
    );
  }
  deps.log.info("enrolling this node", { name: config.nodeName, serverUrl: config.serverUrl });
  const result = await enrollNode({
    serverUrl: config.serverUrl,
    enrollmentToken: config.enrollmentToken,
    name: config.nodeName,
    fetchFn: deps.fetchFn,
  });
  const file = await saveToken(config.workDir, {
    serverUrl: config.serverUrl,
    nodeId: result.nodeId,
    nodeToken: result.nodeToken,
    enrolledAt: (deps.now ?? (() => new Date()))().toISOString(),
  });
  deps.log.info("enrolled", { nodeId: result.nodeId, tokenFile: file });
  return { nodeToken: result.nodeToken, nodeId: result.nodeId, source: "enrolled" };
}
