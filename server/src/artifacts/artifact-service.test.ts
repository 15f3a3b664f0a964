import { createHash, randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../main.js";
import { createTestModel, registerNode } from "../testing/fixtures.js";
import { gql } from "../testing/graphql-client.js";
import { S3RVER_KEYS, startS3rver, type TestS3Server } from "../testing/s3rver.js";
import { TestAgent } from "../testing/test-agent.js";
import { createTestEnv, startTestServer, type TestEnv } from "../testing/test-env.js";
import { S3ArtifactStore } from "./s3-artifact-store.js";

// Result files end to end (agent/PROTOCOL.md R15): a scripted agent on a real server (Postgres,
// Redis) asks for an upload URL, PUTs the bytes, completes with the lasting URL, and the URL
// downloads the same bytes. Once with the local folder store, once with S3 (s3rver).

const UPLOAD = /* GraphQL */ `
  mutation Upload($input: ArtifactUploadInput!) { agentArtifactUpload(input: $input) { artifactId uploadUrl url } }`;

type Upload = { artifactId: string; uploadUrl: string; url: string };
const BUCKET = "vyvo-e2e";
const PREFIX = "e2e/";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe.each(["local", "s3"] as const)("artifacts end to end (%s store)", (flavour) => {
  let env: TestEnv;
  let s3: TestS3Server | null = null;
  let server: RunningServer;
  const agents: TestAgent[] = [];
  let nodeCounter = 0;

  beforeAll(async () => {
    env = await createTestEnv();
    s3 = flavour === "s3" ? await startS3rver() : null;
    server = await startTestServer(env, s3 ? s3.env(BUCKET, PREFIX) : {});
    await createTestModel(server, "acme/echo");
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.close()));
  });
  afterAll(async () => {
    await server?.close();
    await s3?.stop();
    await env?.cleanup();
  });

  async function newAgent() {
    const { nodeToken, node } = await registerNode(server, `artifact-node-${++nodeCounter}`);
    const agent = new TestAgent(server.url, nodeToken);
    agents.push(agent);
    await agent.startHeartbeats();
    return { agent, nodeId: node.id, nodeToken };
  }

  /** An agent with a running attempt of a fresh job. */
  async function running() {
    const { job } = await server.services.jobs.submit({ modelId: "acme/echo", input: { prompt: "draw" } });
    const { agent, nodeToken } = await newAgent();
    const run = await agent.waitForRunJob(job.id);
    expect((await agent.started(run)).rejected).toEqual([]);
    return { agent, nodeToken, run, ref: { jobId: run.jobId, attemptId: run.attemptId } };
  }

  function upload(agent: TestAgent, input: Record<string, unknown>): Promise<Upload> {
    return agent.mutate<{ agentArtifactUpload: Upload }>(UPLOAD, { input }).then((data) => data.agentArtifactUpload);
  }

  /** The error code of a refused upload (the agent sees it as the mutation's error). */
  async function refusal(agent: TestAgent, input: Record<string, unknown>): Promise<string> {
    const error = await upload(agent, input).then(
      () => null,
      (e: Error) => e,
    );
    if (!error) throw new Error("the upload was accepted");
    return (JSON.parse(error.message) as { extensions?: { code?: string } }[])[0]?.extensions?.code ?? error.message;
  }

  it("R15 an agent uploads a result file, completes with its url, and the url downloads the same bytes", async () => {
    const { agent, run, ref } = await running();
    const bytes = randomBytes(256 * 1024);
    const target = await upload(agent, {
      ...ref,
      fileName: "result image.png",
      contentType: "image/png",
      sizeBytes: bytes.length,
    });
    expect(target.url).toMatch(
      new RegExp(`^${server.url}/artifacts/jobs/${ref.jobId}/${target.artifactId}/result_image.png\\?token=`),
    );
    if (flavour === "s3") expect(new URL(target.uploadUrl).origin).toBe(s3?.endpoint);
    else expect(target.uploadUrl.startsWith(`${server.url}/artifacts/`)).toBe(true);

    const put = await fetch(target.uploadUrl, { method: "PUT", body: bytes, headers: { "content-type": "image/png" } });
    expect(put.status).toBe(200);
    expect(await agent.complete(run, { images: [{ url: target.url, content_type: "image/png" }] })).toEqual({
      accepted: 1,
      rejected: [],
    });

    const job = await server.services.prisma.job.findUniqueOrThrow({ where: { id: ref.jobId } });
    expect(job.status).toBe("SUCCEEDED");
    const url = (job.output as { images: { url: string }[] }).images[0]?.url as string;
    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("image/png");
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(bytes));
    if (flavour === "local")
      expect(download.headers.get("content-disposition")).toContain('filename="result image.png"');
    if (flavour === "s3") expect(download.redirected).toBe(true);

    const head = await fetch(url, { method: "HEAD" });
    expect([head.status, head.headers.get("content-length")]).toEqual([200, String(bytes.length)]);
    expect(await server.services.artifacts.downloadUrl(target.artifactId)).toBe(url);
  });

  it("lists a job's artifacts through GraphQL: Job.artifacts and artifacts(jobId)", async () => {
    const { agent, run, ref } = await running();
    const first = await upload(agent, { ...ref, fileName: "a.txt", contentType: "text/plain", sizeBytes: 1 });
    const second = await upload(agent, { ...ref, fileName: "b.json", contentType: "application/json", sizeBytes: 2 });
    await agent.complete(run, { files: [first.url, second.url] });
    const fields = "id jobId attemptId fileName contentType sizeBytes url createdAt";
    const result = await gql<{ job: { artifacts: Record<string, unknown>[] }; artifacts: Record<string, unknown>[] }>(
      server.url,
      `query($id: ID!) { job(id: $id) { artifacts { ${fields} } } artifacts(jobId: $id) { ${fields} } }`,
      { id: ref.jobId },
    );
    expect(result.errors).toBeUndefined();
    const expected = [
      { id: first.artifactId, fileName: "a.txt", contentType: "text/plain", sizeBytes: 1, url: first.url },
      { id: second.artifactId, fileName: "b.json", contentType: "application/json", sizeBytes: 2, url: second.url },
    ].map((artifact) => expect.objectContaining({ ...artifact, jobId: ref.jobId, attemptId: ref.attemptId }));
    expect(result.data?.job.artifacts).toEqual(expected);
    expect(result.data?.artifacts).toEqual(expected);
  });

  it("R15 R9 an upload for an attempt the node no longer holds, or never held, is refused", async () => {
    const { agent, run, ref } = await running();
    const file = { fileName: "late.png", contentType: "image/png", sizeBytes: 10 };
    const other = await newAgent();
    expect(await refusal(other.agent, { ...ref, ...file })).toBe("CONFLICT");
    expect(await refusal(agent, { ...ref, attemptId: `${ref.jobId}.7`, ...file })).toBe("CONFLICT");
    await agent.complete(run, { done: true });
    expect(await refusal(agent, { ...ref, ...file })).toBe("CONFLICT");
    expect(await server.services.artifacts.listForJob(ref.jobId)).toEqual([]);
  });

  it("refuses bad names, content types and sizes, and uploads without a node token", async () => {
    const { agent, ref } = await running();
    const ok = { fileName: "x.png", contentType: "image/png", sizeBytes: 10 };
    expect(await refusal(agent, { ...ref, ...ok, fileName: "../../etc/passwd" })).toBe("INVALID_INPUT");
    expect(await refusal(agent, { ...ref, ...ok, fileName: "" })).toBe("INVALID_INPUT");
    expect(await refusal(agent, { ...ref, ...ok, contentType: "image/png\r\nx-evil: 1" })).toBe("INVALID_INPUT");
    expect(await refusal(agent, { ...ref, ...ok, sizeBytes: -1 })).toBe("INVALID_INPUT");
    expect(await refusal(agent, { ...ref, ...ok, sizeBytes: 2_000_000_000 })).toBe("PAYLOAD_TOO_LARGE");
    const anonymous = await gql(server.url, UPLOAD, { input: { ...ref, ...ok } });
    expect(["FORBIDDEN", "UNAUTHENTICATED"]).toContain(anonymous.errors?.[0]?.extensions?.code);
  });

  it("the upload URL takes exactly the declared size and type", async ({ skip }) => {
    if (flavour === "s3") skip("s3rver does not check SigV4 signatures (S3 and MinIO do: see the S3 store tests)");
    const { agent, ref } = await running();
    const target = await upload(agent, {
      ...ref,
      fileName: "exact.bin",
      contentType: "application/octet-stream",
      sizeBytes: 8,
    });
    const put = (body: string, type = "application/octet-stream") =>
      fetch(target.uploadUrl, { method: "PUT", body, headers: { "content-type": type } }).then((r) => r.status);
    expect(await put("too long!")).toBe(403);
    expect(await put("12345678", "text/html")).toBe(403);
    expect(await put("12345678")).toBe(200);
  });

  it("a download link needs its token, and dies with the job's retention (the file is then deleted)", async () => {
    const { agent, run, ref } = await running();
    const target = await upload(agent, { ...ref, fileName: "keep.txt", contentType: "text/plain", sizeBytes: 4 });
    await fetch(target.uploadUrl, { method: "PUT", body: "keep", headers: { "content-type": "text/plain" } });
    await agent.complete(run, { file: target.url });
    expect((await fetch(target.url)).status).toBe(200);
    expect(await isStored(flavour, env, s3, new URL(target.url).pathname.slice("/artifacts/".length))).toBe(true);
    const tampered = target.url.replace(/token=./, (m) => (m.endsWith("A") ? "token=B" : "token=A"));
    expect((await fetch(tampered)).status).toBe(403);
    expect((await fetch(target.url.replace("keep.txt", "other.txt"))).status).toBe(403);

    // Registered but never uploaded: nothing to serve, whatever the method.
    const pending = await server.services.prisma.artifact.create({
      data: {
        id: `pending-${ref.jobId}`,
        jobId: ref.jobId,
        attemptId: ref.attemptId,
        key: `jobs/${ref.jobId}/pending/never.txt`,
        fileName: "never.txt",
        contentType: "text/plain",
        sizeBytes: 1,
      },
    });
    const pendingUrl = server.services.artifacts.urlFor(pending);
    expect((await fetch(pendingUrl)).status).toBe(404);
    expect((await fetch(pendingUrl, { method: "HEAD" })).status).toBe(404);

    await server.services.prisma.job.update({
      where: { id: ref.jobId },
      data: { retentionUntil: new Date(Date.now() - 1000) },
    });
    expect(await server.maintenance.purgeExpiredResults()).toBeGreaterThanOrEqual(1);
    expect((await fetch(target.url)).status).toBe(404);
    expect(await server.services.artifacts.purgeDetached()).toBeGreaterThanOrEqual(2);
    const key = new URL(target.url).pathname.slice("/artifacts/".length);
    expect(await isStored(flavour, env, s3, key)).toBe(false);
  });
});

/** Whether the store the server wrote to still holds `key`, seen from outside the server. */
async function isStored(flavour: "local" | "s3", env: TestEnv, s3: TestS3Server | null, key: string): Promise<boolean> {
  if (flavour === "local")
    return (await stat(join(env.dataDir, "artifacts", ...key.split("/"))).catch(() => null)) !== null;
  const store = new S3ArtifactStore({
    bucket: BUCKET,
    keyPrefix: PREFIX,
    region: "us-east-1",
    endpoint: s3?.endpoint,
    ...S3RVER_KEYS,
    forcePathStyle: true,
    maxBytes: 1,
  });
  try {
    return (await store.head(key)) !== null;
  } finally {
    await store.close();
  }
}
