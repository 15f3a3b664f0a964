import { describe, expect, it } from "vitest";
import { containerName, containerRemoveArgv, containerRunArgv, gpusArg } from "../src/container-command.js";
import { type ContainerRunnerSpec, parseRunnerSpec } from "../src/protocol.js";

function spec(raw: Record<string, unknown>): ContainerRunnerSpec {
  const parsed = parseRunnerSpec({ kind: "container", ...raw });
  if (!parsed.ok || parsed.spec.kind !== "container") throw new Error(parsed.ok ? "not a container" : parsed.error);
  return parsed.spec;
}

describe("container command", () => {
  it("builds docker run with GPUs, a loopback port, env, mounts, image and args", () => {
    const argv = containerRunArgv({
      engine: "docker",
      name: "vyvo-runner-mv1-41234",
      port: 41234,
      spec: spec({ image: "ghcr.io/acme/flux:1.2", args: ["--fp16"], env: { HF_HOME: "/cache", PORT: "1" } }),
      env: { VYVO_MODEL_ID: "acme/flux", VYVO_MODEL_VERSION_ID: "mv1", VYVO_WORK_DIR: "/w/models/acme_flux" },
      mounts: ["/w/outputs", "/w/models/acme_flux"],
    });
    expect(argv).toEqual([
      "docker",
      "run",
      "--rm",
      "--init",
      "--name",
      "vyvo-runner-mv1-41234",
      "--label",
      "vyvo.runner=1",
      "--gpus",
      "all",
      "-p",
      "127.0.0.1:41234:41234",
      "-v",
      "/w/outputs:/w/outputs",
      "-v",
      "/w/models/acme_flux:/w/models/acme_flux",
      "-e",
      "HF_HOME=/cache",
      "-e",
      "PORT=41234",
      "-e",
      "VYVO_MODEL_ID=acme/flux",
      "-e",
      "VYVO_MODEL_VERSION_ID=mv1",
      "-e",
      "VYVO_WORK_DIR=/w/models/acme_flux",
      "ghcr.io/acme/flux:1.2",
      "--fp16",
    ]);
  });

  it("passes the GPU request as docker wants it", () => {
    expect(gpusArg(undefined)).toBe("all");
    expect(gpusArg("all")).toBe("all");
    expect(gpusArg(2)).toBe("2");
    expect(gpusArg([0, 3])).toBe('"device=0,3"');
    expect(gpusArg(["GPU-abc"])).toBe('"device=GPU-abc"');
    expect(gpusArg("none")).toBeUndefined();
    expect(gpusArg(0)).toBeUndefined();
    const argv = containerRunArgv({
      engine: "podman",
      name: "n",
      port: 1,
      spec: spec({ image: "img", gpus: "none" }),
      env: {},
      mounts: [],
    });
    expect(argv).not.toContain("--gpus");
    expect(argv[0]).toBe("podman");
  });

  it("names containers safely and removes them by name", () => {
    expect(containerName("mv/1 x", 5000)).toBe("vyvo-runner-mv-1-x-5000");
    expect(containerRemoveArgv("docker", "vyvo-runner-a-1")).toEqual(["docker", "rm", "-f", "vyvo-runner-a-1"]);
  });

  it("refuses container specs without an image", () => {
    expect(parseRunnerSpec({ kind: "container" }).ok).toBe(false);
    expect(parseRunnerSpec('{"kind":"container","image":"x"}').ok).toBe(true);
  });
});
