/** The agent's version, sent in connectionParams and heartbeats. Kept equal to agent/package.json (a test checks). */
export const AGENT_VERSION = "0.1.0";
