// Pure checks on what an agent reports about a file, and the storage key built from it.

const TOKEN = "[A-Za-z0-9!#$&^_.+-]";
const CONTENT_TYPE = new RegExp(
  `^[A-Za-z0-9]${TOKEN}{0,126}/[A-Za-z0-9]${TOKEN}{0,126}(?:\\s*;\\s*${TOKEN}+=(?:${TOKEN}+|"[^"\\\\\\x00-\\x1f\\x7f]*"))*$`,
);
const MAX_FILE_NAME_BYTES = 255;
const MAX_SAFE_NAME_LENGTH = 100;

/** Why a file name is refused, or null when it is fine: a base name, no folders, nothing unprintable. */
export function fileNameProblem(fileName: string): string | null {
  if (fileName.length === 0) return "must not be empty";
  if (Buffer.byteLength(fileName) > MAX_FILE_NAME_BYTES) return `must be at most ${MAX_FILE_NAME_BYTES} bytes`;
  if (hasControlCharacter(fileName)) return "must not contain control characters";
  if (fileName.includes("/") || fileName.includes("\\")) return "must be a base name, without folders";
  if (fileName === "." || fileName === "..") return "must name a file";
  return null;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** A media type such as `image/png` or `text/plain; charset=utf-8` (RFC 9110 syntax, 255 characters at most). */
export function isValidContentType(contentType: string): boolean {
  return contentType.length <= 255 && CONTENT_TYPE.test(contentType);
}

/**
 * The file name as one key segment: ASCII letters, digits, dot, dash and underscore, no leading
 * dot, at most 100 characters with the extension kept. The original name stays in the row.
 */
export function safeFileName(fileName: string): string {
  const ascii = fileName.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  let safe = ascii
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._]+/, "")
    .replace(/_+$/, "");
  if (safe.length > MAX_SAFE_NAME_LENGTH) {
    const dot = safe.lastIndexOf(".");
    const ext = dot > 0 && safe.length - dot <= 16 ? safe.slice(dot) : "";
    safe = safe.slice(0, MAX_SAFE_NAME_LENGTH - ext.length) + ext;
  }
  return safe || "file";
}

/** Where an artifact's bytes live: one folder per job (easy to list and to purge), one per artifact. */
export function artifactKey(jobId: string, artifactId: string, fileName: string): string {
  return `jobs/${jobId}/${artifactId}/${safeFileName(fileName)}`;
}
