import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { errorMessage } from "./log.js";
import { type ArtifactUploadResult, type AttemptRef, UPLOAD_MUTATION } from "./protocol.js";

/**
 * Result files (R15): every string in a runner's output that is a `file://` URL of a file inside the attempt's
 * output folder is uploaded (agentArtifactUpload, then an HTTP PUT of the bytes) and replaced by the returned `url`.
 * Other strings, and `file://` URLs outside the folder, are left as they are: a runner cannot make the agent upload
 * arbitrary files of the host (symlinks are resolved before the check, too).
 */

export class ArtifactError extends Error {
  override name = "ArtifactError";
}

/** The absolute path a `file://` URL names if it lies strictly inside `outputDir` (lexically), else undefined. */
export function fileUrlInside(value: string, outputDir: string): string | undefined {
  if (!value.startsWith("file://")) return undefined;
  let file: string;
  try {
    file = fileURLToPath(value);
  } catch {
    return undefined;
  }
  return isInside(file, outputDir) ? path.resolve(file) : undefined;
}

export function isInside(file: string, dir: string): boolean {
  const relative = path.relative(path.resolve(dir), path.resolve(file));
  return relative !== "" && !relative.startsWith(`..${path.sep}`) && relative !== ".." && !path.isAbsolute(relative);
}

/** Every distinct `file://` URL in `output` (any depth) that points inside `outputDir`, with its path. */
export function collectFileUrls(output: unknown, outputDir: string): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (value: unknown): void => {
    if (typeof value === "string") {
      const file = fileUrlInside(value, outputDir);
      if (file) found.set(value, file);
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item);
    } else if (typeof value === "object" && value !== null) {
      for (const item of Object.values(value)) visit(item);
    }
  };
  visit(output);
  return found;
}

/** A copy of `output` with each string found in `replacements` swapped for its value. */
export function replaceStrings(output: unknown, replacements: ReadonlyMap<string, string>): unknown {
  if (typeof output === "string") return replacements.get(output) ?? output;
  if (Array.isArray(output)) return output.map((item) => replaceStrings(item, replacements));
  if (typeof output === "object" && output !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(output)) copy[key] = replaceStrings(value, replacements);
    return copy;
  }
  return output;
}

const CONTENT_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".gif": "image/gif",
  ".bmp": "image/bmp",
  ".tif": "image/tiff",
  ".tiff": "image/tiff",
  ".svg": "image/svg+xml",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".mov": "video/quicktime",
  ".wav": "audio/wav",
  ".mp3": "audio/mpeg",
  ".ogg": "audio/ogg",
  ".flac": "audio/flac",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".pdf": "application/pdf",
  ".zip": "application/zip",
  ".glb": "model/gltf-binary",
  ".gltf": "model/gltf+json",
  ".obj": "model/obj",
  ".ply": "application/octet-stream",
  ".npy": "application/octet-stream",
  ".safetensors": "application/octet-stream",
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
}

export type PutFileFn = (
  url: string,
  file: string,
  headers: { contentType: string; size: number; authorization?: string },
) => Promise<void>;

/** PUT a file with an explicit Content-Length (S3 presigned URLs refuse chunked bodies). */
export const putFile: PutFileFn = (url, file, headers) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const mod = target.protocol === "https:" ? https : http;
    const req = mod.request(
      target,
      {
        method: "PUT",
        headers: {
          "content-type": headers.contentType,
          "content-length": headers.size,
          ...(headers.authorization ? { authorization: headers.authorization } : {}),
        },
        timeout: 120_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => {
          if (chunks.length < 16) chunks.push(chunk);
        });
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else
            reject(
              new ArtifactError(
                `upload refused: HTTP ${status} ${Buffer.concat(chunks).toString("utf8").slice(0, 300)}`,
              ),
            );
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new ArtifactError("upload timed out")));
    req.on("error", reject);
    pipeline(createReadStream(file), req).catch(reject);
  });

export interface ArtifactUploaderOptions {
  request: <T>(query: string, variables: Record<string, unknown>) => Promise<T>;
  serverUrl: string;
  authToken: () => string | undefined;
  put?: PutFileFn;
}

export class ArtifactUploader {
  constructor(private readonly options: ArtifactUploaderOptions) {}

  /** Uploads the output's files and returns the output with their URLs replaced. Throws ArtifactError. */
  async rewriteOutput(output: unknown, outputDir: string, ref: AttemptRef): Promise<unknown> {
    const found = collectFileUrls(output, outputDir);
    if (found.size === 0) return output;
    const realDir = await realpath(outputDir).catch(() => path.resolve(outputDir));
    const replacements = new Map<string, string>();
    const byFile = new Map<string, string>();
    for (const [fileUrl, file] of found) {
      let real: string;
      try {
        real = await realpath(file);
      } catch {
        throw new ArtifactError(`result file ${path.basename(file)} does not exist`);
      }
      if (!isInside(real, realDir)) {
        // A symlink out of the output folder: not ours to upload.
        continue;
      }
      const known = byFile.get(real);
      if (known) {
        replacements.set(fileUrl, known);
        continue;
      }
      const url = await this.upload(real, ref);
      byFile.set(real, url);
      replacements.set(fileUrl, url);
    }
    return replaceStrings(output, replacements);
  }

  private async upload(file: string, ref: AttemptRef): Promise<string> {
    const info = await stat(file);
    if (!info.isFile()) throw new ArtifactError(`result ${path.basename(file)} is not a regular file`);
    const contentType = contentTypeFor(file);
    let target: ArtifactUploadResult["agentArtifactUpload"];
    try {
      const result = await this.options.request<ArtifactUploadResult>(UPLOAD_MUTATION, {
        input: { ...ref, fileName: path.basename(file), contentType, sizeBytes: info.size },
      });
      target = result.agentArtifactUpload;
    } catch (error) {
      throw new ArtifactError(`upload of ${path.basename(file)} refused: ${errorMessage(error)}`);
    }
    const uploadUrl = new URL(target.uploadUrl, this.options.serverUrl);
    const sameOrigin = uploadUrl.origin === new URL(this.options.serverUrl).origin;
    const token = sameOrigin ? this.options.authToken() : undefined;
    try {
      await (this.options.put ?? putFile)(uploadUrl.toString(), file, {
        contentType,
        size: info.size,
        authorization: token ? `Bearer ${token}` : undefined,
      });
    } catch (error) {
      throw new ArtifactError(`upload of ${path.basename(file)} failed: ${errorMessage(error)}`);
    }
    return new URL(target.url, this.options.serverUrl).toString();
  }
}
