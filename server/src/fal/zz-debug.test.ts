import { it } from "vitest";
import { FILES, startFalHarness } from "./fal-test-harness.js";
it("debug", { timeout: 120_000 }, async () => {
  const h = await startFalHarness();
  try {
    const bytes = Buffer.alloc(91 * 1024 * 1024);
    const t0 = Date.now();
    let id = "";
    const r = await h.client().subscribe(FILES, { input: { weights: new Blob([bytes]) }, pollInterval: 100, onEnqueue: (x) => { id = x; console.log("enqueued", Date.now() - t0); } }).catch((e) => e);
    console.log("done", Date.now() - t0, r?.status, JSON.stringify(r?.body ?? r?.data));
    if (id) {
      const events = await h.server.services.prisma.jobEvent.findMany({ where: { jobId: id }, orderBy: { id: "asc" } });
      console.log(events.map((e) => `${e.at.toISOString()} ${e.type} ${e.toStatus} ${e.cause}`).join("\n"));
    }
  } finally { await h.close(); }
});
