import { createHash, createPublicKey, verify } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gqlData } from "../testing/graphql-client.js";
import { verifyWebhook } from "../webhooks/webhook-signer.js";
import { ECHO, type FalHarness, sleep, startFalHarness } from "./fal-test-harness.js";

// fal_webhook end to end: the official client submits with webhookUrl, a real HTTP receiver in
// the test gets fal's payload, and checks the Ed25519 signature against our published JWKS.

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let h: FalHarness;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
/** Status codes the receiver answers with, per path, in turn (then 200). */
const scripts = new Map<string, number[]>();

beforeAll(async () => {
  h = await startFalHarness({
    WEBHOOK_RETRY_BASE_MS: "100",
    WEBHOOK_RETRY_MAX_MS: "300",
    WEBHOOK_SWEEP_INTERVAL_MS: "50",
    WEBHOOK_MAX_ATTEMPTS: "3",
  });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = req.url ?? "/";
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(scripts.get(path)?.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
  await h?.close();
});

async function deliveriesTo(path: string, count: number, timeoutMs = 10_000): Promise<Received[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hits = received.filter((r) => r.path === path);
    if (hits.length >= count) return hits;
    if (Date.now() > deadline) throw new Error(`${path} got ${hits.length} of ${count} deliveries`);
    await sleep(20);
  }
}

const DELIVERIES = `query($jobId: ID!) { webhookDeliveries(jobId: $jobId) { edges { node {
  id jobId url state attempts maxAttempts lastStatusCode lastError attemptLog deliveredAt } } } }`;

type DeliveryView = {
  state: string;
  attempts: number;
  lastStatusCode: number | null;
  attemptLog: { statusCode: number | null }[];
};

async function deliveryOf(jobId: string, state: string): Promise<DeliveryView> {
  for (let i = 0; i < 200; i++) {
    const data = await gqlData<{ webhookDeliveries: { edges: { node: DeliveryView }[] } }>(h.server.url, DELIVERIES, {
      jobId,
    });
    const node = data.webhookDeliveries.edges[0]?.node;
    if (node?.state === state) return node;
    await sleep(50);
  }
  throw new Error(`delivery of ${jobId} never became ${state}`);
}

describe("webhooks", () => {
  it("a finished request is POSTed in fal's shape, signed, and verifiable with the published JWKS", async () => {
    const { request_id: requestId } = await h
      .client()
      .queue.submit(ECHO, { input: { prompt: "hook" }, webhookUrl: `${receiverUrl}/ok` });
    const [hit] = await deliveriesTo("/ok", 1);
    if (!hit) throw new Error("no delivery");
    expect(JSON.parse(hit.body.toString())).toEqual({
      request_id: requestId,
      gateway_request_id: requestId,
      status: "OK",
      payload: { text: "HOOK", route: null },
      error: null,
    });
    expect(hit.headers["content-type"]).toBe("application/json");
    expect(hit.headers["x-fal-webhook-request-id"]).toBe(requestId);
    expect(hit.headers["x-fal-webhook-user-id"]).toMatch(/^key:/);

    // The JWKS is where fal clients look (/.well-known/jwks.json), and under the REST prefix too.
    const jwks = (await (await fetch(`${h.server.url}/.well-known/jwks.json`)).json()) as {
      keys: { kty: "OKP"; crv: "Ed25519"; x: string; kid: string }[];
    };
    expect(await (await fetch(`${h.server.url}/fal/rest/.well-known/jwks.json`)).json()).toEqual(jwks);
    const headers = hit.headers as Record<string, string>;
    expect(verifyWebhook(headers, hit.body, jwks as never, Math.floor(Date.now() / 1000))).toMatchObject({ ok: true });

    // And the way a receiver that never saw our code would do it.
    const message = [
      headers["x-fal-webhook-request-id"],
      headers["x-fal-webhook-user-id"],
      headers["x-fal-webhook-timestamp"],
      createHash("sha256").update(hit.body).digest("hex"),
    ].join("\n");
    const [jwk] = jwks.keys;
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: jwk?.x }, format: "jwk" });
    expect(
      verify(null, Buffer.from(message), key, Buffer.from(headers["x-fal-webhook-signature"] as string, "hex")),
    ).toBe(true);
    expect(Math.abs(Number(headers["x-fal-webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(300);

    const record = await deliveryOf(requestId, "DELIVERED");
    expect(record).toMatchObject({ attempts: 1, lastStatusCode: 200 });
  });

  it("a failed request is delivered as ERROR with the error body", async () => {
    const { request_id: requestId } = await h
      .client()
      .queue.submit(ECHO, { input: { prompt: "invalid" }, webhookUrl: `${receiverUrl}/err` });
    const [hit] = await deliveriesTo("/err", 1);
    expect(JSON.parse(hit?.body.toString() ?? "{}")).toEqual({
      request_id: requestId,
      gateway_request_id: requestId,
      status: "ERROR",
      error: "Invalid status code: 422",
      payload: {
        detail: [{ loc: ["body"], msg: "steps must be even", type: "value_error" }],
        message: "steps must be even",
      },
    });
  });

  it("a receiver that fails is retried with backoff; every attempt is recorded", async () => {
    scripts.set("/flaky", [500, 503]);
    const { request_id: requestId } = await h
      .client()
      .queue.submit(ECHO, { input: { prompt: "retry" }, webhookUrl: `${receiverUrl}/flaky` });
    const hits = await deliveriesTo("/flaky", 3);
    const jwks = (await (await fetch(`${h.server.url}/.well-known/jwks.json`)).json()) as never;
    const now = Math.floor(Date.now() / 1000);
    // Each attempt is signed with its own timestamp, so a retry is never stale.
    expect(hits.map((hit) => verifyWebhook(hit.headers as Record<string, string>, hit.body, jwks, now).ok)).toEqual([
      true,
      true,
      true,
    ]);
    const record = await deliveryOf(requestId, "DELIVERED");
    expect(record.attempts).toBe(3);
    expect(record.attemptLog.map((entry) => entry.statusCode)).toEqual([500, 503, 200]);
  });

  it("out of attempts: FAILED, and redeliverWebhook sends it again", async () => {
    scripts.set("/down", [502, 502, 502]);
    const { request_id: requestId } = await h
      .client()
      .queue.submit(ECHO, { input: { prompt: "down" }, webhookUrl: `${receiverUrl}/down` });
    const failed = await deliveryOf(requestId, "FAILED");
    expect(failed).toMatchObject({ attempts: 3, lastStatusCode: 502 });
    expect(received.filter((r) => r.path === "/down")).toHaveLength(3);
    const id = (
      await gqlData<{ webhookDeliveries: { edges: { node: { id: string } }[] } }>(h.server.url, DELIVERIES, {
        jobId: requestId,
      })
    ).webhookDeliveries.edges[0]?.node.id;
    await gqlData(h.server.url, `mutation($id: ID!) { redeliverWebhook(id: $id) { state } }`, { id });
    await deliveriesTo("/down", 4);
    expect(await deliveryOf(requestId, "DELIVERED")).toMatchObject({ attempts: 4, lastStatusCode: 200 });
  });

  it("an unreachable receiver is an attempt without a status code", async () => {
    const { request_id: requestId } = await h.client().queue.submit(ECHO, {
      input: { prompt: "nowhere" },
      webhookUrl: "http://127.0.0.1:9/hook", // the discard port: nobody listens
    });
    const failed = await deliveryOf(requestId, "FAILED");
    expect(failed.attemptLog.every((entry) => entry.statusCode === null)).toBe(true);
  });
});
