import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * A secret kept in the data folder (mode 0600), made on first start by `generate`. Written
 * aside, then linked into place: link fails if the file exists, so two servers starting on one
 * folder agree on one secret, and nobody reads a half-written file. Returns the file's text.
 */
export async function readOrCreateSecretFile(
  dataDir: string,
  fileName: string,
  generate: () => string,
): Promise<string> {
  const file = join(dataDir, fileName);
  const existing = await readIfExists(file);
  if (existing !== null) return existing;
  await mkdir(dataDir, { recursive: true });
  const draft = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await writeFile(draft, generate(), { mode: 0o600, flag: "wx" });
  try {
    await link(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await unlink(draft);
  }
  return (await readIfExists(file)) ?? "";
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return (await readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}
