import { describe, expect, it } from "vitest";
import { DomainError } from "../errors.js";
import { checkEnvChange } from "./node-commands.js";

describe("ConfigureEnv requests", () => {
  it("are split into env, secrets and unset", () => {
    expect(checkEnvChange({ env: { A: "1" }, secrets: { HF_TOKEN: "s" }, unset: ["OLD"] })).toEqual({
      env: { A: "1" },
      secrets: { HF_TOKEN: "s" },
      unset: ["OLD"],
    });
  });

  it("refuse the agent's own names, bad names, duplicates and non-strings, without echoing values", () => {
    const refused = (change: Parameters<typeof checkEnvChange>[0]) => {
      try {
        checkEnvChange(change);
      } catch (error) {
        expect(error).toBeInstanceOf(DomainError);
        return (error as Error).message;
      }
      throw new Error("accepted");
    };
    expect(refused({ env: { VYVO_NODE_TOKEN: "x" } })).toContain("set by the agent");
    expect(refused({ env: { PORT: "1" } })).toContain("set by the agent");
    expect(refused({ env: { "1BAD": "x" } })).toContain("not a valid variable name");
    expect(refused({ env: { A: "1" }, secrets: { A: "2" } })).toContain("given twice");
    expect(refused({ secrets: { KEY: 42 as unknown as string } })).toContain("must be a string");
    expect(refused({ secrets: { KEY: "canary-value" }, unset: ["KEY"] })).not.toContain("canary-value");
    expect(refused({})).toContain("nothing to change");
  });
});
