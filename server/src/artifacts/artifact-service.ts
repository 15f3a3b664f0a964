import { randomUUID } from "node:crypto";
import { DomainError, type FieldIssue, notFound } from "../errors.js";
import type { Artifact, PrismaClient } from "../generated/prisma/client.js";
import { artifactKey, fileNameProblem, isValidContentType } from "./artifact-names.js";
import { type ArtifactStore, isValidKey, type ObjectInfo, type StoredObject } from "./artifact-store.js";
import type { DownloadLinks } from "./download-links.js";

export interface ArtifactsConfig {
  /** Largest file an agent may upload. */
  maxBytes: number;
  /** Lifetime of presigned upload URLs and of the presigned GETs that download links redirect to. */
  presignTtlMs: number;
  /** A runaway runner must not fill the store: at most this many files per job. */
  maxFilesPerJob: number;
}

export interface ArtifactUploadRequest {
  jobId: string;
  attemptId: string;
  /** The node that asks; it must hold the attempt. */
  nodeId: string;
  fileName: string;
  contentType: string;
  sizeBytes: number;
}

export interface ArtifactUpload {
  artifactId: string;
  /** Short-lived: PUT the bytes here, with the same Content-Type and size. */
  uploadUrl: string;
  /** Lasting: what goes into the job's output (valid while the job's results are retained). */
  url: string;
}

/** The fencing check of agent reports (R9): AttemptService.verify, for one attempt. */
export type AttemptVerifier = (
  nodeId: string,
  ref: { jobId: string; attemptId: string },
) => Promise<{ ok: true } | { ok: false; reason: string }>;

/** What a download link leads to; the HTTP layer turns it into a response. */
export type Download =
  | { kind: "denied" }
  | { kind: "gone" }
  | { kind: "info"; artifact: Artifact; info: ObjectInfo }
  | { kind: "redirect"; artifact: Artifact; url: string }
  | { kind: "file"; artifact: Artifact; object: StoredObject };

/**
 * Result files of jobs: agents ask for an upload URL (fenced by their attempt), PUT the bytes
 * straight to the store, and put the returned lasting URL into the job's output.
 */
export class ArtifactService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly store: ArtifactStore,
    private readonly links: DownloadLinks,
    private readonly verifyAttempt: AttemptVerifier,
    private readonly config: ArtifactsConfig,
    private readonly newId: () => string = randomUUID,
  ) {}

  async createUpload(request: ArtifactUploadRequest): Promise<ArtifactUpload> {
    this.validate(request);
    const { jobId, attemptId, nodeId } = request;
    const verdict = await this.verifyAttempt(nodeId, { jobId, attemptId });
    if (!verdict.ok) throw new DomainError("CONFLICT", `upload refused for attempt ${attemptId}: ${verdict.reason}`);
    const count = await this.prisma.artifact.count({ where: { jobId } });
    if (count >= this.config.maxFilesPerJob) {
      throw new DomainError("PAYLOAD_TOO_LARGE", `a job may store at most ${this.config.maxFilesPerJob} files`);
    }
    const id = this.newId();
    const key = artifactKey(jobId, id, request.fileName);
    // Ids come from the queue, but the key also names a file path: check it all the same.
    if (!isValidKey(key))
      throw new DomainError("INVALID_INPUT", `job id ${JSON.stringify(jobId)} cannot name an artifact`);
    await this.prisma.artifact.create({
      data: {
        id,
        jobId,
        attemptId,
        key,
        fileName: request.fileName,
        contentType: request.contentType,
        sizeBytes: request.sizeBytes,
      },
    });
    const uploadUrl = await this.store.presignPut(key, {
      contentType: request.contentType,
      sizeBytes: request.sizeBytes,
      expiresInS: this.presignTtlS(),
    });
    return { artifactId: id, uploadUrl, url: this.links.urlFor(key) };
  }

  listForJob(jobId: string): Promise<Artifact[]> {
    return this.prisma.artifact.findMany({ where: { jobId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
  }

  /** The lasting download URL of an artifact row. */
  urlFor(artifact: Pick<Artifact, "key">): string {
    return this.links.urlFor(artifact.key);
  }

  async downloadUrl(artifactId: string): Promise<string> {
    const artifact = await this.prisma.artifact.findUnique({ where: { id: artifactId } });
    if (!artifact?.jobId) throw notFound("artifact", artifactId);
    return this.urlFor(artifact);
  }

  /**
   * Follows a download link: the token must match the key, and the artifact must still belong
   * to a job (links die with the job's retention).
   */
  async openDownload(key: string, token: string | null, method: "GET" | "HEAD"): Promise<Download> {
    if (!isValidKey(key) || !this.links.verify(key, token)) return { kind: "denied" };
    const artifact = await this.prisma.artifact.findUnique({ where: { key } });
    if (!artifact?.jobId) return { kind: "gone" };
    if (method === "HEAD") {
      // Asks the store, not the row: a file that was never uploaded must not look present.
      const info = await this.store.head(key);
      return info ? { kind: "info", artifact, info } : { kind: "gone" };
    }
    if (this.store.kind === "s3") {
      return { kind: "redirect", artifact, url: await this.store.presignGet(key, { expiresInS: this.presignTtlS() }) };
    }
    const object = await this.store.get(key);
    return object ? { kind: "file", artifact, object } : { kind: "gone" };
  }

  /**
   * Deletes the stored files of purged jobs (their rows lost the job, see schema.prisma), then
   * the rows. Runs on every replica: deleting twice is harmless.
   */
  async purgeDetached(limit = 200): Promise<number> {
    const detached = await this.prisma.artifact.findMany({
      where: { jobId: null },
      take: limit,
      select: { id: true, key: true },
    });
    const deleted: string[] = [];
    let failure: unknown = null;
    for (const { id, key } of detached) {
      try {
        await this.store.delete(key);
        deleted.push(id);
      } catch (error) {
        failure ??= error; // keep the row: the next sweep tries again
      }
    }
    if (deleted.length) await this.prisma.artifact.deleteMany({ where: { id: { in: deleted } } });
    if (failure) throw failure;
    return deleted.length;
  }

  private validate(request: ArtifactUploadRequest): void {
    const issues: FieldIssue[] = [];
    const problem = fileNameProblem(request.fileName);
    if (problem) issues.push({ loc: ["input", "fileName"], msg: `file name ${problem}`, type: "value_error" });
    if (!isValidContentType(request.contentType)) {
      issues.push({
        loc: ["input", "contentType"],
        msg: "content type must be a media type such as image/png",
        type: "value_error",
      });
    }
    if (!Number.isSafeInteger(request.sizeBytes) || request.sizeBytes < 0) {
      issues.push({
        loc: ["input", "sizeBytes"],
        msg: "size must be a whole number of bytes, 0 or more",
        type: "value_error",
      });
    }
    if (issues.length) throw new DomainError("INVALID_INPUT", issues.map((issue) => issue.msg).join("; "), issues);
    if (request.sizeBytes > this.config.maxBytes) {
      throw new DomainError(
        "PAYLOAD_TOO_LARGE",
        `file of ${request.sizeBytes} bytes is over the limit of ${this.config.maxBytes}`,
        [
          {
            loc: ["input", "sizeBytes"],
            msg: `must be at most ${this.config.maxBytes}`,
            type: "value_error.too_large",
          },
        ],
      );
    }
  }

  private presignTtlS(): number {
    return Math.max(1, Math.round(this.config.presignTtlMs / 1000));
  }
}
