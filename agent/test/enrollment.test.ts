import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EnrollmentError, readSavedToken, resolveCredentials, saveToken, tokenPath } from "../src/enrollment.js";
import { silentLogger } from "../src/log.js";

let workDir: string;

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "vyvo-enroll-"));
});
afterEach(() => rm(workDir, { recursive: true, force: true }));

const config = (extra: Record<string, string> = {}) => ({
  serverUrl: "http://127.0.0.1:1",
  workDir,
  nodeName: "n",
  ...extra,
});

describe("enrollment", () => {
  it("R2: saves the node token with mode 0600, atomically", async () => {
    const file = await saveToken(path.join(workDir, "nested"), {
      serverUrl: "http://s",
      nodeId: "node-1",
      nodeToken: "tok",
      enrolledAt: "2025-01-01T00:00:00.000Z",
    });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject({ nodeId: "node-1", nodeToken: "tok" });
  });

  it("R2: a token file readable by others is narrowed to 0600 when read", async () => {
    await writeFile(tokenPath(workDir), JSON.stringify({ nodeToken: "tok", nodeId: "n1", serverUrl: "http://s" }));
    await chmod(tokenPath(workDir), 0o644);
    expect(await readSavedToken(workDir)).toMatchObject({ nodeToken: "tok", nodeId: "n1" });
    expect((await stat(tokenPath(workDir))).mode & 0o777).toBe(0o600);
  });

  it("prefers a configured node token, then the saved one; with neither nor an enrollment token it says what to pass", async () => {
    expect(await resolveCredentials(config({ nodeToken: "given" }), { log: silentLogger })).toMatchObject({
      nodeToken: "given",
      source: "config",
    });
    const error = await resolveCredentials(config(), { log: silentLogger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnrollmentError);
    expect((error as Error).message).toContain("--enrollment-token");
    await saveToken(workDir, { serverUrl: "http://127.0.0.1:1", nodeId: "n", nodeToken: "saved", enrolledAt: "" });
    // the saved token wins over an (already used) enrollment token: no request is made
    const fetchFn = (async () => {
      throw new Error("no enrollment expected");
    }) as unknown as typeof fetch;
    expect(await resolveCredentials(config({ enrollmentToken: "used" }), { log: silentLogger, fetchFn })).toMatchObject(
      {
        nodeToken: "saved",
        source: "saved",
      },
    );
  });

  it("says clearly when the token file is damaged", async () => {
    await writeFile(tokenPath(workDir), "{not json");
    await expect(readSavedToken(workDir)).rejects.toThrow(/not valid JSON: delete it and enroll again/);
  });

  it("says clearly when the server cannot be reached", async () => {
    const error = await resolveCredentials(config({ enrollmentToken: "e" }), { log: silentLogger }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "UNREACHABLE" });
    expect((error as Error).message).toContain("cannot reach http://127.0.0.1:1/graphql");
  });
});
