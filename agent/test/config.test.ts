import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseCliArgs } from "../src/cli.js";
import { ConfigError, envName, flagName, graphqlHttpUrl, graphqlWsUrl, resolveConfig } from "../src/config.js";
import { AGENT_VERSION } from "../src/version.js";

const base = { hostname: "gpu-host-7", homedir: "/home/vyvo" };

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("applies defaults: work dir under home, node name = hostname, capacity 1", () => {
    const config = resolveConfig({ ...base, flags: { serverUrl: "https://vyvo.example.com" }, env: {} });
    expect(config).toMatchObject({
      serverUrl: "https://vyvo.example.com",
      workDir: "/home/vyvo/.vyvo-agent",
      nodeName: "gpu-host-7",
      capacity: 1,
      containerEngine: "docker",
      logLevel: "info",
    });
    expect(config.models).toBeUndefined();
  });

  it("reads VYVO_* env, and a flag beats env which beats the file", () => {
    const config = resolveConfig({
      ...base,
      file: { path: "agent.json", data: { serverUrl: "http://file:1", capacity: 8, nodeName: "from-file" } },
      env: {
        VYVO_SERVER_URL: "http://env:2",
        VYVO_ENROLLMENT_TOKEN: "enroll-abc",
        VYVO_WORK_DIR: "/var/lib/vyvo",
        VYVO_CAPACITY: "4",
        VYVO_MODELS: "acme/flux, acme/sdxl,,",
      },
      flags: { serverUrl: "https://flag:3" },
    });
    expect(config.serverUrl).toBe("https://flag:3");
    expect(config.capacity).toBe(4);
    expect(config.nodeName).toBe("from-file");
    expect(config.models).toEqual(["acme/flux", "acme/sdxl"]);
    expect(config.enrollmentToken).toBe("enroll-abc");
    expect(config.workDir).toBe("/var/lib/vyvo");
  });

  it("lists every wrong value with where it came from, and never prints a token", () => {
    const message = configError(() =>
      resolveConfig({
        ...base,
        env: { VYVO_CAPACITY: "lots", VYVO_NODE_TOKEN: "secret value" },
        flags: { serverUrl: "ftp://vyvo.example.com", logLevel: "loud" },
      }),
    );
    expect(message).toContain("serverUrl (from --server-url): must be an http:// or https:// URL");
    expect(message).toContain('capacity (from VYVO_CAPACITY): must be an integer between 1 and 1024 (got "lots")');
    expect(message).toContain("logLevel (from --log-level): must be one of debug, info, warn, error");
    expect(message).toContain("nodeToken (from VYVO_NODE_TOKEN): must not contain whitespace");
    expect(message).not.toContain("secret value");
  });

  it("requires a server URL", () => {
    expect(configError(() => resolveConfig({ ...base, env: {}, flags: {} }))).toContain("serverUrl");
  });

  it("rejects zero or fractional capacity and unknown keys in the file", () => {
    expect(
      configError(() => resolveConfig({ ...base, env: {}, flags: { serverUrl: "http://x", capacity: "0" } })),
    ).toContain("capacity");
    expect(
      configError(() => resolveConfig({ ...base, env: {}, flags: { serverUrl: "http://x", capacity: "1.5" } })),
    ).toContain("capacity");
    const message = configError(() =>
      resolveConfig({
        ...base,
        env: {},
        flags: {},
        file: { path: "a.json", data: { serverUrl: "http://x", capcity: 2 } },
      }),
    );
    expect(message).toContain('unknown setting "capcity"');
    expect(
      configError(() => resolveConfig({ ...base, env: {}, flags: {}, file: { path: "a.json", data: [1] } })),
    ).toContain("must hold a JSON object");
  });

  it("derives the GraphQL URLs: http->ws, https->wss, path /graphql", () => {
    expect(graphqlWsUrl("http://localhost:4000")).toBe("ws://localhost:4000/graphql");
    expect(graphqlWsUrl("https://vyvo.example.com/")).toBe("wss://vyvo.example.com/graphql");
    expect(graphqlWsUrl("https://example.com/vyvo")).toBe("wss://example.com/vyvo/graphql");
    expect(graphqlHttpUrl("https://example.com/graphql")).toBe("https://example.com/graphql");
  });

  it("maps keys to flags and env names", () => {
    expect(flagName("runnerStartupTimeoutMs")).toBe("runner-startup-timeout-ms");
    expect(envName("enrollmentToken")).toBe("VYVO_ENROLLMENT_TOKEN");
  });

  it("parses flags and refuses unknown ones", () => {
    const args = parseCliArgs(["--server-url", "http://x", "--capacity=2", "--config", "a.json"]);
    expect(args.flags).toEqual({ serverUrl: "http://x", capacity: "2" });
    expect(args.configPath).toBe("a.json");
    expect(() => parseCliArgs(["--sever-url", "http://x"])).toThrow(/Unknown option '--sever-url'/);
    expect(parseCliArgs(["-h"]).help).toBe(true);
  });

  it("keeps AGENT_VERSION equal to agent/package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    expect(AGENT_VERSION).toBe(pkg.version);
  });
});
