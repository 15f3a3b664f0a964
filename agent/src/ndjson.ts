import { StringDecoder } from "node:string_decoder";
import { z } from "zod";

/**
 * Newline-delimited JSON from a runner's `POST /run`. Chunks may split lines (and UTF-8 characters) anywhere; a line
 * is complete at "\n" (a trailing "\r" is dropped). Blank lines are skipped. A line that is not JSON, or longer than
 * `maxLineBytes`, comes out as an `invalid` item so the caller can log it and go on.
 */

export type NdjsonItem = { kind: "value"; value: unknown } | { kind: "invalid"; line: string; error: string };

export class NdjsonParser {
  private readonly decoder = new StringDecoder("utf8");
  private buffer = "";
  private overflowing = false;

  constructor(private readonly maxLineBytes = 16 * 1024 * 1024) {}

  push(chunk: Uint8Array | string): NdjsonItem[] {
    this.buffer += typeof chunk === "string" ? chunk : this.decoder.write(Buffer.from(chunk));
    const items: NdjsonItem[] = [];
    let start = 0;
    for (;;) {
      const nl = this.buffer.indexOf("\n", start);
      if (nl < 0) break;
      const line = this.buffer.slice(start, nl);
      start = nl + 1;
      if (this.overflowing) {
        this.overflowing = false;
        items.push({ kind: "invalid", line: `${line.slice(0, 200)}…`, error: "line too long" });
        continue;
      }
      const item = parseLine(line);
      if (item) items.push(item);
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length > this.maxLineBytes) {
      // Keep only a little of an over-long line: its end is reported (and skipped) when its newline arrives.
      this.overflowing = true;
      this.buffer = "";
    }
    return items;
  }

  /** The stream ended: a last line without "\n" still counts. */
  end(): NdjsonItem[] {
    this.buffer += this.decoder.end();
    const rest = this.buffer;
    this.buffer = "";
    if (this.overflowing) {
      this.overflowing = false;
      return [{ kind: "invalid", line: `${rest.slice(0, 200)}…`, error: "line too long" }];
    }
    const item = parseLine(rest);
    return item ? [item] : [];
  }
}

function parseLine(raw: string): NdjsonItem | undefined {
  const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  if (line.trim() === "") return undefined;
  try {
    return { kind: "value", value: JSON.parse(line) };
  } catch (error) {
    return { kind: "invalid", line: line.slice(0, 1000), error: error instanceof Error ? error.message : "not JSON" };
  }
}

// ---- runner events (runners/CONTRACT.md) -------------------------------------------------------------------------

const LogEvent = z.object({
  type: z.literal("log"),
  level: z.string().min(1).catch("info"),
  message: z.string().catch(""),
});

const ProgressEvent = z.object({
  type: z.literal("progress"),
  progress: z.number().finite(),
  message: z.string().nullish(),
});

const ResultEvent = z.object({
  type: z.literal("result"),
  output: z.unknown(),
});

const ErrorEvent = z.object({
  type: z.literal("error"),
  error: z.string().catch("runner error"),
  error_type: z.string().min(1).catch("runner_error"),
  retryable: z.boolean().catch(false),
  detail: z.unknown().optional(),
});

const HeartbeatEvent = z.object({ type: z.literal("heartbeat") });

export type RunnerEvent =
  | z.output<typeof HeartbeatEvent>
  | z.output<typeof LogEvent>
  | z.output<typeof ProgressEvent>
  | z.output<typeof ResultEvent>
  | z.output<typeof ErrorEvent>;

export type ParsedRunnerEvent = { ok: true; event: RunnerEvent } | { ok: false; error: string };

/**
 * Checks one NDJSON value from a runner. `heartbeat` lines (sent on quiet streams) are events the caller ignores;
 * unknown `type`s are not ok, and the contract says to skip them.
 */
export function parseRunnerEvent(value: unknown): ParsedRunnerEvent {
  const type = typeof value === "object" && value !== null ? (value as { type?: unknown }).type : undefined;
  const schema =
    type === "heartbeat"
      ? HeartbeatEvent
      : type === "log"
        ? LogEvent
        : type === "progress"
          ? ProgressEvent
          : type === "result"
            ? ResultEvent
            : type === "error"
              ? ErrorEvent
              : undefined;
  if (!schema) return { ok: false, error: `unknown event type ${JSON.stringify(type)}` };
  const parsed = schema.safeParse(value);
  if (!parsed.success) return { ok: false, error: parsed.error.issues.map((i) => i.message).join("; ") };
  if (parsed.data.type === "result" && !("output" in (value as object))) {
    return { ok: false, error: "result event without output" };
  }
  return { ok: true, event: parsed.data };
}
