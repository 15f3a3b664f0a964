import { DomainError } from "../../errors.js";
import type { Artifact } from "../../generated/prisma/client.js";
import { builder } from "../builder.js";

// Result files of jobs (agent/PROTOCOL.md, "Artifacts"): agents ask for upload URLs, everyone
// reads the files through each artifact's lasting `url`.

/** Every artifact a query reaches hangs off a job; only purged ones (never listed) lose it. */
function jobIdOf(artifact: Artifact): string {
  if (!artifact.jobId) throw new Error(`artifact ${artifact.id} is detached from its job`);
  return artifact.jobId;
}

const ArtifactRef = builder.prismaObject("Artifact", {
  description: "A file a job produced.",
  fields: (t) => ({
    id: t.exposeID("id"),
    jobId: t.string({ resolve: jobIdOf }),
    attemptId: t.exposeString("attemptId", { description: "The attempt that uploaded it." }),
    fileName: t.exposeString("fileName", { description: "The name the runner gave the file." }),
    contentType: t.exposeString("contentType"),
    sizeBytes: t.exposeInt("sizeBytes"),
    url: t.string({
      description: "Download link, valid as long as the job's results are retained.",
      resolve: (artifact, _args, ctx) => ctx.artifacts.urlFor(artifact),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

builder.prismaObjectField("Job", "artifacts", (t) =>
  t.relation("artifacts", {
    description: "Files the job produced, oldest first.",
    query: { orderBy: [{ createdAt: "asc" }, { id: "asc" }] },
  }),
);

const ArtifactUploadInput = builder.inputType("ArtifactUploadInput", {
  fields: (t) => ({
    jobId: t.string({ required: true }),
    attemptId: t.string({ required: true }),
    fileName: t.string({ required: true }),
    contentType: t.string({ required: true }),
    sizeBytes: t.int({ required: true }),
  }),
});

const ArtifactUpload = builder
  .objectRef<{ artifactId: string; uploadUrl: string; url: string }>("ArtifactUpload")
  .implement({
    fields: (t) => ({
      artifactId: t.exposeString("artifactId"),
      uploadUrl: t.exposeString("uploadUrl", {
        description: "PUT the bytes here, with the same Content-Type and size; expires soon.",
      }),
      url: t.exposeString("url", { description: "Put this into the output in place of the file's URL." }),
    }),
  });

builder.queryFields((t) => ({
  artifacts: t.field({
    type: [ArtifactRef],
    authScopes: { permission: "jobs:read" },
    description: "Files a job produced, oldest first.",
    args: { jobId: t.arg.id({ required: true }) },
    resolve: (_root, { jobId }, ctx) => ctx.artifacts.listForJob(String(jobId)),
  }),
}));

builder.mutationFields((t) => ({
  agentArtifactUpload: t.field({
    type: ArtifactUpload,
    authScopes: { agent: true },
    description: "Registers a result file of an attempt this node holds and returns where to PUT it (R15).",
    args: { input: t.arg({ type: ArtifactUploadInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      if (!ctx.node) throw new DomainError("FORBIDDEN", "a node token is required");
      return ctx.artifacts.createUpload({ ...input, nodeId: ctx.node.id });
    },
  }),
}));
