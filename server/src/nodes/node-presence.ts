/** What an agent says about its host, as the agent gateway passes it on (agent/PROTOCOL.md, HeartbeatInput). */

export interface GpuStats {
  index: number;
  uuid: string;
  name: string;
  memoryTotalMb: number;
  memoryUsedMb: number;
  utilizationPct?: number | null;
  temperatureC?: number | null;
  powerW?: number | null;
  driverVersion?: string | null;
  cudaVersion?: string | null;
}

export interface RunnerState {
  modelVersionId: string;
  state: string;
  pid?: number | null;
  port?: number | null;
  runs: number;
}

/** One step of a command the agent carried out (CommandAckInput). */
export interface CommandAck {
  commandId: string;
  step: string;
  detail?: string | null;
}

/**
 * The agent gateway's view of node presence: told when a socket opens and closes and when a heartbeat
 * arrives, and asked before it gives a node new work. `connectionId` names one socket, so that a late
 * close of a replaced socket changes nothing.
 */
export interface NodePresence {
  connected(
    nodeId: string,
    info: { connectionId: string; capacity: number; agentVersion?: string | null },
  ): Promise<unknown>;
  heartbeat(
    nodeId: string,
    info: {
      connectionId?: string;
      freeSlots: number;
      gpus: GpuStats[];
      runners?: RunnerState[];
      agentVersion?: string | null;
    },
  ): Promise<unknown>;
  disconnected(nodeId: string, connectionId: string): Promise<unknown>;
  /** Synchronous and cheap: asked on every dispatch. False for cordoned, draining and removed nodes. */
  canDispatch(nodeId: string): boolean;
  /** An ack of a node command (not about a job): recorded as a NodeEvent. */
  acknowledged(nodeId: string, ack: CommandAck): Promise<void>;
}
