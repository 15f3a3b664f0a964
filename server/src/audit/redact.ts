/** Argument names whose values never reach the audit log (or any log). */
const SECRET_NAME = /pass(word)?|secret|token|private.?key|api.?key|credential|authorization|cookie/i;
const MAX_STRING = 500;
const MAX_ITEMS = 50;
const MAX_DEPTH = 6;

/** A copy of `value` safe to store: secrets replaced, long strings and lists cut. Pure. */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value === "number" || typeof value === "boolean") return value;
  if (typeof value === "string")
    return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… (${value.length} chars)` : value;
  if (depth >= MAX_DEPTH) return "[…]";
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((item) => redact(item, depth + 1));
    return value.length > MAX_ITEMS ? [...items, `… ${value.length - MAX_ITEMS} more`] : items;
  }
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      out[key] = SECRET_NAME.test(key) ? "[redacted]" : redact(inner, depth + 1);
    }
    return out;
  }
  return String(value);
}
