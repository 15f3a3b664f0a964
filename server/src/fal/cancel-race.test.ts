import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ECHO, type FalHarness, startFalHarness } from "./fal-test-harness.js";

// Both fal clients fire a cancel when their own timeout passes, even if the request has just
// finished (fal-api.md §7). The loser of that race must get ALREADY_COMPLETED, and a finished
// request must stay fetchable and unchanged.

let h: FalHarness;

beforeAll(async () => {
  h = await startFalHarness();
});

afterAll(async () => {
  await h?.close();
});

const cancel = (requestId: string) => h.fetch(`/fal/queue/${ECHO}/requests/${requestId}/cancel`, { method: "PUT" });
const result = (requestId: string) => h.fetch(`/fal/queue/${ECHO}/requests/${requestId}`);

async function heldRequest(): Promise<string> {
  const { request_id: requestId } = await h.client().queue.submit(ECHO, { input: { prompt: "hold" } });
  await h.runner.waitForHold(requestId);
  return requestId;
}

describe("cancel racing completion", () => {
  it("a cancel after completion gets 400 ALREADY_COMPLETED and the result is untouched", async () => {
    const requestId = await heldRequest();
    h.runner.release(requestId, { done: 1 });
    const fal = h.client();
    for (;;) if ((await fal.queue.status(ECHO, { requestId })).status === "COMPLETED") break;
    const reply = await cancel(requestId);
    expect(reply.status).toBe(400);
    expect(await reply.json()).toEqual({ status: "ALREADY_COMPLETED" });
    expect(reply.headers.get("x-fal-request-id")).toBe(requestId);
    await expect(fal.queue.cancel(ECHO, { requestId })).rejects.toMatchObject({ status: 400 });
    expect((await fal.queue.result(ECHO, { requestId })).data).toEqual({ done: 1 });
    expect((await h.server.services.jobs.get(requestId)).status).toBe("SUCCEEDED");
  });

  it("cancel and completion at the same moment: exactly one wins, and every answer agrees with it", async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 10; round++) {
      const requestId = await heldRequest();
      const { ref } = await h.runner.waitForRun(requestId);
      const [report, reply] = await Promise.all([h.agent.complete(ref, { round }), cancel(requestId)]);
      const job = await h.server.services.jobs.get(requestId);
      const fetched = await result(requestId);
      const body = (await fetched.json()) as Record<string, unknown>;
      const answer = (await reply.json()) as { status: string };
      if (job.status === "SUCCEEDED") {
        // Completion won: the cancel lost and says so; the output stands.
        expect(reply.status).toBe(400);
        expect(answer).toEqual({ status: "ALREADY_COMPLETED" });
        expect(report.accepted).toBe(1);
        expect([fetched.status, body]).toEqual([200, { round }]);
      } else {
        // Cancel won: the job is cancelled for good, whatever the agent reported.
        expect(job.status).toBe("CANCELLED");
        expect(reply.status).toBe(202);
        expect(answer).toEqual({ status: "CANCELLATION_REQUESTED" });
        expect([fetched.status, body.error_type]).toEqual([499, "client_cancelled"]);
      }
      // A second cancel always loses, and the result does not change.
      expect((await cancel(requestId)).status).toBe(400);
      expect((await result(requestId)).status).toBe(fetched.status);
      outcomes.push(job.status);
      h.runner.release(requestId); // the held run's own late report is rejected
    }
    expect(outcomes).toHaveLength(10);
  });
});
