import { topics } from "../../events/event-bus.js";
import type { QueueStats } from "../../queue/port.js";
import { builder } from "../builder.js";

const QueueRef = builder.objectRef<QueueStats>("Queue").implement({
  description: "The queue of one model.",
  fields: (t) => ({
    modelId: t.exposeString("modelId"),
    depth: t.exposeInt("depth", { description: "Jobs waiting to be claimed." }),
    running: t.exposeInt("running", { description: "Jobs held by agents." }),
    delayed: t.exposeInt("delayed", { description: "Jobs waiting out a retry backoff." }),
    paused: t.exposeBoolean("paused"),
    oldestEnqueuedAt: t.field({
      type: "DateTime",
      nullable: true,
      resolve: (q) => (q.oldestEnqueuedAt === null ? null : new Date(q.oldestEnqueuedAt)),
    }),
    oldestWaitMs: t.int({
      nullable: true,
      resolve: (q) => (q.oldestEnqueuedAt === null ? null : Math.max(0, Date.now() - q.oldestEnqueuedAt)),
    }),
  }),
});

builder.queryFields((t) => ({
  queues: t.field({
    authScopes: { permission: "queues:read" },
    type: [QueueRef],
    args: { modelIds: t.arg.stringList({ required: false }) },
    resolve: (_root, args, ctx) => ctx.queues.list(args.modelIds ?? undefined),
  }),
}));

builder.mutationFields((t) => ({
  pauseQueue: t.field({
    authScopes: { permission: "queues:manage" },
    type: QueueRef,
    args: { modelId: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.queues.pause(args.modelId),
  }),
  resumeQueue: t.field({
    authScopes: { permission: "queues:manage" },
    type: QueueRef,
    args: { modelId: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.queues.resume(args.modelId),
  }),
  purgeQueue: t.int({
    authScopes: { permission: "queues:manage" },
    description: "Cancels every waiting job of the model; returns how many.",
    args: { modelId: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => ctx.queues.purge(args.modelId, ctx.actor),
  }),
}));

builder.subscriptionFields((t) => ({
  queueUpdated: t.field({
    authScopes: { permission: "queues:read" },
    type: [QueueRef],
    description: "Every queue now, then again whenever one changes (at most every 250 ms).",
    subscribe: (_root, _args, ctx) => throttled(ctx.events.subscribe<unknown>(topics.queueUpdated), 250),
    resolve: (_tick, _args, ctx) => ctx.queues.list(),
  }),
}));

/** Emits at once, then at most once per `ms` while events keep coming: stats are re-read, not diffed. */
async function* throttled(source: AsyncIterableIterator<unknown>, ms: number): AsyncGenerator<true> {
  let dirty = false;
  let done = false;
  const waker: { wake: (() => void) | null } = { wake: null };
  const pump = (async () => {
    for await (const _event of source) {
      dirty = true;
      waker.wake?.();
    }
    done = true;
    waker.wake?.();
  })();
  try {
    yield true;
    while (!done) {
      if (!dirty) await new Promise<void>((resolve) => (waker.wake = resolve));
      waker.wake = null;
      if (!dirty) continue;
      dirty = false;
      yield true;
      await new Promise((resolve) => setTimeout(resolve, ms));
    }
  } finally {
    await source.return?.();
    await pump;
  }
}
