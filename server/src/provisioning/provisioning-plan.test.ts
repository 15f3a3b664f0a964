import { describe, expect, it } from "vitest";
import {
  agentPaths,
  decideEnv,
  desiredAgentEnv,
  ENROLLMENT_TOKEN_VAR,
  nodeProblem,
  parseEnvFile,
  parseHostFacts,
  RESTART_EXIT_CODE,
  renderEnvFile,
  renderSupervisor,
  resolveInstallDir,
  restartNeeded,
  STEP_NAMES,
  serviceMode,
  shq,
  stepsToRun,
} from "./provisioning-plan.js";

const desired = desiredAgentEnv({
  serverUrl: "http://cp:4000",
  workDir: "/home/u/.vyvo-agent/work",
  capacity: 2,
  nodeName: "gpu-1",
  extra: { VYVO_LOG_LEVEL: "debug" },
});

describe("provisioning plan", () => {
  it("the env file round-trips, sorted, and refuses values a shell or systemd would misread", () => {
    const text = renderEnvFile(desired);
    expect(parseEnvFile(text)).toEqual(desired);
    expect(text.split("\n").filter((line) => line.startsWith("VYVO_"))).toEqual([
      "VYVO_CAPACITY='2'",
      "VYVO_LOG_LEVEL='debug'",
      "VYVO_NODE_NAME='gpu-1'",
      "VYVO_SERVER_URL='http://cp:4000'",
      "VYVO_WORK_DIR='/home/u/.vyvo-agent/work'",
    ]);
    expect(() => renderEnvFile({ A: "it's" })).toThrow("quotes");
    expect(() => renderEnvFile({ A: "two\nlines" })).toThrow();
  });

  it("env: kept when up to date; an enrollment token only while the host has no node token", () => {
    expect(decideEnv(desired, desired, true, false)).toEqual({ action: "keep" });
    expect(decideEnv({ ...desired, VYVO_CAPACITY: "1" }, desired, true, false)).toEqual({
      action: "write",
      enroll: false,
    });
    // the host enrolled but the spent token is still in the file: rewrite without it
    expect(decideEnv({ ...desired, [ENROLLMENT_TOKEN_VAR]: "t" }, desired, true, false)).toEqual({
      action: "write",
      enroll: false,
    });
    expect(decideEnv(null, desired, false, false)).toEqual({ action: "write", enroll: true });
    expect(decideEnv(desired, desired, false, false)).toEqual({ action: "write", enroll: true });
    // still enrolling (token unused): keep it rather than minting another
    expect(decideEnv({ ...desired, [ENROLLMENT_TOKEN_VAR]: "t" }, desired, false, true)).toEqual({ action: "keep" });
    expect(decideEnv({ ...desired, [ENROLLMENT_TOKEN_VAR]: "t" }, desired, false, false)).toEqual({
      action: "write",
      enroll: true,
    });
  });

  it("host facts, the node check and the service mode", () => {
    const sha = "a".repeat(64);
    const facts = parseHostFacts(
      `home=/home/u\nuid=1000\nsystemd=1\nnode=/usr/bin/node\nnodeVersion=v20.11.1\nbundleSha256=${sha}  .vyvo-agent/vyvo-agent.mjs\n`,
    );
    expect(facts).toEqual({
      home: "/home/u",
      uid: 1000,
      systemd: true,
      nodePath: "/usr/bin/node",
      nodeVersion: "v20.11.1",
      bundleSha256: sha,
    });
    expect(parseHostFacts("home=/h\n").bundleSha256).toBeNull();
    expect(nodeProblem(facts)).toBeNull();
    expect(serviceMode(facts)).toBe("supervisor"); // systemd units need root
    expect(serviceMode({ ...facts, uid: 0 })).toBe("systemd");
    expect(nodeProblem({ ...facts, nodeVersion: "v18.19.0" })).toContain("needs Node.js 20");
    expect(nodeProblem({ ...facts, nodePath: null })).toContain("no node on the remote PATH");
  });

  it("paths: relative install folders live in the remote home", () => {
    expect(resolveInstallDir(".vyvo-agent", "/home/u")).toBe("/home/u/.vyvo-agent");
    expect(resolveInstallDir("/opt/vyvo/", "/home/u")).toBe("/opt/vyvo/");
    expect(agentPaths("/opt/v").tokenFile).toBe("/opt/v/work/node-token.json");
    expect(shq("a'b")).toBe(`'a'\\''b'`);
  });

  it("a running agent restarts only when its bundle, env or service changed (or when asked)", () => {
    expect(
      restartNeeded({ "upload-agent": "unchanged", "write-env": "unchanged", "install-service": "unchanged" }, false),
    ).toBe(false);
    expect(restartNeeded({ "write-env": "changed" }, false)).toBe(true);
    expect(restartNeeded({ "create-folders": "changed" }, false)).toBe(false);
    expect(restartNeeded({}, true)).toBe(true);
  });

  it("a retry starts at the failed step, after connecting again", () => {
    expect(stepsToRun(null)).toEqual([...STEP_NAMES]);
    expect(stepsToRun(0)).toEqual([...STEP_NAMES]);
    const at = STEP_NAMES.indexOf("start-agent");
    expect(stepsToRun(at)).toEqual(["connect", "start-agent", "wait-online", "forget-enrollment-token"]);
  });

  it("the supervisor restarts on failure, at once for the restart code, and stops on exit 0", () => {
    const script = renderSupervisor("/usr/bin/node");
    expect(script).toContain(`"$code" -eq ${RESTART_EXIT_CODE}`);
    expect(script).toContain(`exec '/usr/bin/node' ./vyvo-agent.mjs`);
    expect(script).toContain('if [ "$code" -eq 0 ]; then');
  });
});
