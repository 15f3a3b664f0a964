import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** s3rver's fixed credentials. */
export const S3RVER_KEYS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export interface TestS3Server {
  endpoint: string;
  /** The S3_* settings that point the server at it. */
  env(bucket: string, keyPrefix?: string): Record<string, string>;
  stop(): Promise<void>;
}

const bin = resolve(fileURLToPath(new URL("../../../node_modules/.bin/s3rver", import.meta.url)));

/**
 * A real S3-compatible server (s3rver) as a child process on a free loopback port, with a
 * temporary folder of its own; `stop` ends it and removes the folder.
 */
export async function startS3rver(): Promise<TestS3Server> {
  const dir = await mkdtemp(join(tmpdir(), "vyvo-s3rver-"));
  const child = spawn(bin, ["-d", dir, "-a", "127.0.0.1", "-p", "0", "-s"], { stdio: ["ignore", "pipe", "pipe"] });
  // A test file that dies before its afterAll must not leave the server running.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  const endpoint = await new Promise<string>((resolveEndpoint, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(/S3rver listening on ([\d.]+):(\d+)/);
      if (match) resolveEndpoint(`http://${match[1]}:${match[2]}`);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code}: ${output}`)));
    setTimeout(() => reject(new Error(`s3rver did not start: ${output}`)), 15_000).unref();
  });
  return {
    endpoint,
    env: (bucket, keyPrefix) => ({
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_REGION: "us-east-1",
      S3_ACCESS_KEY_ID: S3RVER_KEYS.accessKeyId,
      S3_SECRET_ACCESS_KEY: S3RVER_KEYS.secretAccessKey,
      S3_FORCE_PATH_STYLE: "true",
      ...(keyPrefix ? { S3_KEY_PREFIX: keyPrefix } : {}),
    }),
    stop: () => stopChild(child).then(() => rm(dir, { recursive: true, force: true })),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((done) => {
    child.once("exit", () => done());
    child.kill("SIGTERM");
  });
}
