import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * `npm start` on a bare machine needs an admin to log in as and a key to script with. They are
 * made once, kept in the data folder with mode 0600, and reused on every start.
 */
export interface LocalCredentials {
  adminEmail: string;
  adminPassword: string;
  apiKey: string;
  /** True on the first start: the password is printed once. */
  created: boolean;
}

export async function loadLocalCredentials(dataDir: string): Promise<LocalCredentials> {
  const file = join(dataDir, "local-admin.json");
  try {
    return { ...(JSON.parse(await readFile(file, "utf8")) as Omit<LocalCredentials, "created">), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const credentials = {
    adminEmail: "admin@vyvo.local",
    adminPassword: randomBytes(12).toString("base64url"),
    apiKey: `vyvo_local_${randomBytes(24).toString("base64url")}`,
  };
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  return { ...credentials, created: true };
}
