import type { BundleCache } from "./bundles.js";
import { errorMessage, type Logger } from "./log.js";
import { type NodeCommand, parseRunnerSpec } from "./protocol.js";
import type { RunnerEnvStore } from "./runner-env.js";
import type { RunnerManager } from "./runner-manager.js";
import { replaceBundle } from "./upgrade.js";

/**
 * Commands about the host rather than a job (PROTOCOL.md, "Node commands"). Each is acknowledged step by step
 * (`received`, then its own steps, or `failed` with the reason); acks carry no jobId, so the server records them on
 * the node. Values of pushed variables and secrets never reach a log line or an ack: only their names and counts.
 */

export interface NodeCommandDeps {
  log: Logger;
  ack(commandId: string, step: string, detail?: string): void;
  runners: RunnerManager;
  bundles: BundleCache;
  env: RunnerEnvStore;
  /** Take no new work; resolves once nothing runs. */
  drain(): Promise<void>;
  /** Take work again; false while shutting down. */
  resume(): boolean;
  /** Drain, exit with the restart code: the service starts the agent again. */
  restart(reason: string): void;
  upgrade: { target: string | null; serverUrl: string; authToken(): string | undefined; fetchFn?: typeof fetch };
}

export class NodeCommandHandler {
  constructor(private readonly deps: NodeCommandDeps) {}

  handle(command: NodeCommand): void {
    const { ack, log } = this.deps;
    ack(command.commandId, "received");
    void this.run(command).catch((error: unknown) => {
      log.warn("node command failed", {
        command: command.__typename,
        commandId: command.commandId,
        error: errorMessage(error),
      });
      ack(command.commandId, "failed", errorMessage(error));
    });
  }

  private async run(command: NodeCommand): Promise<void> {
    const { ack, log, runners } = this.deps;
    const id = command.commandId;
    switch (command.__typename) {
      case "ConfigureEnvCommand": {
        await this.deps.env.apply({ env: command.env, secrets: command.secrets, unset: command.unset });
        // Idle runners hold the old environment: stop them so the next job starts one with the new.
        const restarted = await runners.stopIdle();
        const names = this.deps.env.names();
        log.info("runner environment updated", { env: names.env.join(",") || "-", secretCount: names.secrets.length });
        const set = Object.keys(command.env).length;
        const secrets = Object.keys(command.secrets).length;
        ack(
          id,
          "applied",
          `${set} variable(s) and ${secrets} secret(s) set, ${command.unset.length} removed; ${restarted} idle runner(s) stopped`,
        );
        return;
      }
      case "PrefetchRunnerCommand": {
        const parsed = parseRunnerSpec(command.runner);
        if (!parsed.ok) throw new Error(parsed.error);
        const runner = await runners.acquire({
          modelId: command.modelId,
          modelVersionId: command.modelVersionId,
          spec: parsed.spec,
        });
        runners.release(runner, true);
        log.info("runner prefetched", { modelVersionId: command.modelVersionId, pid: runner.pid });
        ack(id, "ready", `runner of ${command.modelVersionId} resident (pid ${runner.pid ?? "?"})`);
        return;
      }
      case "RemoveRunnerCommand": {
        const stopped = await runners.stopIdle(command.modelVersionId);
        const deleted = await this.deps.bundles.remove(command.modelVersionId);
        log.info("runner removed", { modelVersionId: command.modelVersionId, stopped, bundleDeleted: deleted });
        ack(id, "removed", `${stopped} idle runner(s) stopped${deleted ? ", bundle deleted" : ""}`);
        return;
      }
      case "RestartAgentCommand":
        ack(id, "restarting", command.reason ?? undefined);
        this.deps.restart(command.reason ?? "asked by the control plane");
        return;
      case "UpgradeAgentCommand": {
        const { target, serverUrl, authToken, fetchFn } = this.deps.upgrade;
        if (!target) throw new Error("this agent runs from its sources, not a bundle: nothing to replace");
        const { bytes } = await replaceBundle({
          bundleUrl: command.bundleUrl,
          sha256: command.sha256,
          target,
          serverUrl,
          authToken: authToken(),
          fetchFn,
        });
        ack(id, "replaced", `${bytes} bytes, sha256 verified`);
        ack(id, "restarting");
        this.deps.restart("upgrade");
        return;
      }
      case "DrainCommand":
        await this.deps.drain();
        ack(id, "drained", "nothing runs on this node");
        return;
      case "ResumeWorkCommand":
        if (!this.deps.resume()) throw new Error("the agent is shutting down");
        ack(id, "resumed");
        return;
    }
  }
}
