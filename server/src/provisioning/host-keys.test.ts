import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkHostKey, describeVerdict, fingerprintOf, normalizeFingerprint } from "./host-keys.js";

describe("host key fingerprints", () => {
  it("equal what ssh-keygen -lf prints for the same key", () => {
    const dir = mkdtempSync(join(tmpdir(), "vyvo-hostkey-"));
    try {
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "key")]);
      const blob = Buffer.from(readFileSync(join(dir, "key.pub"), "utf8").split(" ")[1] as string, "base64");
      const printed = execFileSync("ssh-keygen", ["-lf", join(dir, "key.pub")], { encoding: "utf8" }).split(" ")[1];
      expect(fingerprintOf(blob)).toBe(printed);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("are normalised and checked", () => {
    const fp = `SHA256:${"A".repeat(43)}`;
    expect(normalizeFingerprint(` ${fp}= `)).toBe(fp);
    expect(normalizeFingerprint("MD5:aa:bb")).toBeNull();
    expect(checkHostKey(fp, fp)).toEqual({ accept: true });
    expect(checkHostKey(null, fp)).toEqual({ accept: false, reason: "unconfirmed", offered: fp });
    const other = `SHA256:${"B".repeat(43)}`;
    const mismatch = checkHostKey(fp, other);
    expect(mismatch).toEqual({ accept: false, reason: "mismatch", offered: other, expected: fp });
    if (!mismatch.accept) expect(describeVerdict(mismatch)).toContain("nothing was sent");
  });
});
