import { fileURLToPath } from "node:url";
import type { RunnerSpec } from "../../src/protocol.js";

export const TINY_RUNNER = fileURLToPath(new URL("../fixtures/tiny-runner.mjs", import.meta.url));

/** A process runner spec for the tiny test runner with the given flags. */
export function tinyRunner(...flags: string[]): RunnerSpec {
  return {
    kind: "process",
    command: process.execPath,
    args: [TINY_RUNNER, ...flags],
    env: {},
    cwd: null,
    artifactUrl: null,
  };
}
