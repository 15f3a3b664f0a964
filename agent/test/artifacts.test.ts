import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ArtifactError,
  ArtifactUploader,
  collectFileUrls,
  contentTypeFor,
  fileUrlInside,
  replaceStrings,
} from "../src/artifacts.js";

const ref = { jobId: "job-1", attemptId: "att-1" };

describe("file:// rewrite (pure)", () => {
  const dir = "/work/outputs/att-1";

  it("R15: finds file:// URLs only inside the output folder", () => {
    expect(fileUrlInside("file:///work/outputs/att-1/out.png", dir)).toBe("/work/outputs/att-1/out.png");
    expect(fileUrlInside("file:///work/outputs/att-1/sub/a%20b.png", dir)).toBe("/work/outputs/att-1/sub/a b.png");
    expect(fileUrlInside("file:///work/outputs/att-1/../att-2/x.png", dir)).toBeUndefined();
    expect(fileUrlInside("file:///work/outputs/att-10/x.png", dir)).toBeUndefined();
    expect(fileUrlInside("file:///etc/passwd", dir)).toBeUndefined();
    expect(fileUrlInside("file:///work/outputs/att-1", dir)).toBeUndefined();
    expect(fileUrlInside("https://cdn.example.com/x.png", dir)).toBeUndefined();
    expect(fileUrlInside("/work/outputs/att-1/out.png", dir)).toBeUndefined();
    expect(fileUrlInside("file://remote-host/work/outputs/att-1/x", dir)).toBeUndefined();
  });

  it("collects every string at any depth, once per URL", () => {
    const output = {
      images: [{ url: "file:///work/outputs/att-1/0.png" }, { url: "file:///work/outputs/att-1/1.png" }],
      again: "file:///work/outputs/att-1/0.png",
      outside: "file:///tmp/secret",
      n: 3,
      nested: { deep: ["file:///work/outputs/att-1/v.mp4", null, true] },
    };
    expect([...collectFileUrls(output, dir).keys()]).toEqual([
      "file:///work/outputs/att-1/0.png",
      "file:///work/outputs/att-1/1.png",
      "file:///work/outputs/att-1/v.mp4",
    ]);
  });

  it("replaces the strings it was given and copies the rest", () => {
    const output = { a: "file:///x", b: ["file:///x", "keep"], c: { d: 1 }, e: null };
    const replaced = replaceStrings(output, new Map([["file:///x", "https://cdn/x"]]));
    expect(replaced).toEqual({ a: "https://cdn/x", b: ["https://cdn/x", "keep"], c: { d: 1 }, e: null });
    expect(output.a).toBe("file:///x");
  });

  it("guesses content types from the extension", () => {
    expect(contentTypeFor("a.PNG")).toBe("image/png");
    expect(contentTypeFor("clip.mp4")).toBe("video/mp4");
    expect(contentTypeFor("weights.bin")).toBe("application/octet-stream");
  });
});

describe("ArtifactUploader", () => {
  let root: string;
  let outputDir: string;
  const requests: Record<string, unknown>[] = [];
  const puts: { url: string; file: string; contentType: string; size: number; authorization?: string }[] = [];

  const uploader = () =>
    new ArtifactUploader({
      serverUrl: "https://vyvo.example.com",
      authToken: () => "node-token",
      request: async <T>(_query: string, variables: Record<string, unknown>) => {
        requests.push(variables);
        const id = `art-${requests.length}`;
        const uploadUrl = requests.length === 1 ? `/upload/${id}` : `https://s3.example.com/bucket/${id}?sig=1`;
        return { agentArtifactUpload: { artifactId: id, uploadUrl, url: `/files/${id}` } } as T;
      },
      put: async (url, file, headers) => {
        puts.push({ url, file, ...headers });
      },
    });

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "vyvo-artifacts-"));
    outputDir = path.join(root, "outputs", "att-1");
    await mkdir(outputDir, { recursive: true });
    requests.length = 0;
    puts.length = 0;
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("R15: uploads each file once, PUTs it, and replaces its URL with the returned url", async () => {
    const png = path.join(outputDir, "out.png");
    const json = path.join(outputDir, "meta.json");
    await writeFile(png, Buffer.alloc(10));
    await writeFile(json, "{}");
    const output = {
      image: pathToFileURL(png).href,
      copy: pathToFileURL(png).href,
      meta: pathToFileURL(json).href,
      note: "plain",
    };
    const result = await uploader().rewriteOutput(output, outputDir, ref);
    expect(result).toEqual({
      image: "https://vyvo.example.com/files/art-1",
      copy: "https://vyvo.example.com/files/art-1",
      meta: "https://vyvo.example.com/files/art-2",
      note: "plain",
    });
    expect(requests).toEqual([
      { input: { ...ref, fileName: "out.png", contentType: "image/png", sizeBytes: 10 } },
      { input: { ...ref, fileName: "meta.json", contentType: "application/json", sizeBytes: 2 } },
    ]);
    // the node token goes only to the server's own origin, never to S3
    expect(puts[0]).toMatchObject({
      url: "https://vyvo.example.com/upload/art-1",
      authorization: "Bearer node-token",
      size: 10,
    });
    expect(puts[1]?.url).toBe("https://s3.example.com/bucket/art-2?sig=1");
    expect(puts[1]?.authorization).toBeUndefined();
  });

  it("R15: leaves files outside the output folder alone, symlinks included", async () => {
    const secret = path.join(root, "secret.txt");
    await writeFile(secret, "token");
    await symlink(secret, path.join(outputDir, "link.txt"));
    const output = { link: pathToFileURL(path.join(outputDir, "link.txt")).href, direct: pathToFileURL(secret).href };
    expect(await uploader().rewriteOutput(output, outputDir, ref)).toEqual(output);
    expect(requests).toHaveLength(0);
  });

  it("fails when a result file does not exist", async () => {
    const output = { image: pathToFileURL(path.join(outputDir, "missing.png")).href };
    await expect(uploader().rewriteOutput(output, outputDir, ref)).rejects.toBeInstanceOf(ArtifactError);
  });
});
