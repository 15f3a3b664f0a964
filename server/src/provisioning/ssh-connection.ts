import { createHash, randomBytes } from "node:crypto";
import ssh2, { type Client, type ClientChannel, type SFTPWrapper } from "ssh2";
import { checkHostKey, describeVerdict, fingerprintOf, type HostKeyVerdict } from "./host-keys.js";

/** SFTP status code for "no such file". */
const NO_SUCH_FILE = 2;

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  /** The pinned fingerprint; null: nothing is accepted, the offered key is only recorded. */
  hostKeyFingerprint: string | null;
  timeoutMs: number;
}

/** The host's key was not accepted; nothing was sent to it (no authentication, no command). */
export class HostKeyRejected extends Error {
  constructor(readonly verdict: Exclude<HostKeyVerdict, { accept: true }>) {
    super(describeVerdict(verdict));
    this.name = "HostKeyRejected";
  }
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Checks a private key given by an operator: key authentication only, no passphrase. null when fine. */
export function privateKeyProblem(privateKey: string): string | null {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) {
    return /passphrase/i.test(parsed.message)
      ? "the private key is protected by a passphrase: give an unencrypted key (it is stored encrypted)"
      : "the private key could not be read (OpenSSH or PEM format expected)";
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return key?.isPrivateKey() ? null : "this is a public key: the private key is needed";
}

/**
 * One SSH session to a host, with ssh2. The host key is checked against the pinned fingerprint
 * in hostVerifier, before authentication: a wrong or unconfirmed key ends the connection with
 * nothing sent. Commands run through the login shell; files move over SFTP.
 */
export class SshConnection {
  private sftpSession: SFTPWrapper | undefined;

  private constructor(
    private readonly client: Client,
    readonly fingerprint: string,
  ) {}

  static connect(target: SshTarget): Promise<SshConnection> {
    const client = new ssh2.Client();
    let verdict: HostKeyVerdict | undefined;
    let offered = "";
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        client.removeAllListeners("ready");
        client.end();
        reject(verdict && !verdict.accept ? new HostKeyRejected(verdict) : error);
      };
      client.once("ready", () => {
        client.removeListener("error", fail);
        client.on("error", () => {}); // later socket errors fail the command in flight
        resolve(new SshConnection(client, offered));
      });
      client.once("error", fail);
      client.connect({
        host: target.host,
        port: target.port,
        username: target.username,
        privateKey: target.privateKey,
        readyTimeout: target.timeoutMs,
        keepaliveInterval: 10_000,
        // Key authentication only: no password, no keyboard-interactive, no agent.
        authHandler: ["publickey"],
        tryKeyboard: false,
        hostVerifier: (key: Buffer) => {
          offered = fingerprintOf(key);
          verdict = checkHostKey(target.hostKeyFingerprint, offered);
          return verdict.accept;
        },
      });
    });
  }

  /** Runs `command` on the host; `onLine` gets each output line as it comes. */
  exec(
    command: string,
    onLine?: (line: string, stream: "stdout" | "stderr") => void,
    timeoutMs = 120_000,
  ): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (error: Error | undefined, channel: ClientChannel) => {
        if (error) return reject(error);
        const out = { stdout: "", stderr: "" };
        const partial = { stdout: "", stderr: "" };
        const timer = setTimeout(() => {
          channel.close();
          reject(new Error(`the command did not finish within ${timeoutMs} ms`));
        }, timeoutMs);
        const collect = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
          const text = chunk.toString("utf8");
          out[stream] += text;
          if (!onLine) return;
          const lines = (partial[stream] + text).split("\n");
          partial[stream] = lines.pop() ?? "";
          for (const line of lines) onLine(line, stream);
        };
        channel.on("data", collect("stdout"));
        channel.stderr.on("data", collect("stderr"));
        channel.on("close", (code: number | null) => {
          clearTimeout(timer);
          for (const stream of ["stdout", "stderr"] as const)
            if (partial[stream] && onLine) onLine(partial[stream], stream);
          resolve({ code: code ?? null, ...out });
        });
      });
    });
  }

  /** Like exec, but a non-zero exit is an error carrying the command's stderr. */
  async run(command: string, onLine?: (line: string, stream: "stdout" | "stderr") => void): Promise<string> {
    const result = await this.exec(command, onLine);
    if (result.code !== 0) {
      const detail = (result.stderr || result.stdout).trim().split("\n").slice(-5).join(" | ");
      throw new Error(`exit code ${result.code}${detail ? `: ${detail}` : ""}`);
    }
    return result.stdout;
  }

  // File operations go over SFTP: no shell starts for them (a login shell can take seconds to start).

  async exists(path: string): Promise<boolean> {
    return (await this.mode(path)) !== null;
  }

  /** The file's SHA-256 (hex), or null when it does not exist. Read over SFTP and hashed here. */
  async sha256(path: string): Promise<string | null> {
    const sftp = await this.sftp();
    return new Promise((resolve, reject) => {
      const hash = createHash("sha256");
      const stream = sftp.createReadStream(path);
      stream.on("data", (chunk: Buffer) => hash.update(chunk));
      stream.on("end", () => resolve(hash.digest("hex")));
      stream.on("error", (error: Error & { code?: number }) =>
        error.code === NO_SUCH_FILE ? resolve(null) : reject(error),
      );
    });
  }

  async readFile(path: string): Promise<string | null> {
    const sftp = await this.sftp();
    return new Promise((resolve, reject) => {
      sftp.readFile(path, (error: (Error & { code?: number }) | undefined, data: Buffer) => {
        if (error) return error.code === NO_SUCH_FILE ? resolve(null) : reject(error);
        resolve(data.toString("utf8"));
      });
    });
  }

  /** The permission bits of a path (e.g. 0o600), or null when it does not exist. */
  async mode(path: string): Promise<number | null> {
    const sftp = await this.sftp();
    return new Promise((resolve, reject) => {
      sftp.stat(path, (error: (Error & { code?: number }) | undefined, stats) => {
        if (error) return error.code === NO_SUCH_FILE ? resolve(null) : reject(error);
        resolve(stats.mode & 0o777);
      });
    });
  }

  /** Deletes a file; one that is not there is fine. */
  async remove(path: string): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) =>
      sftp.unlink(path, (error?: (Error & { code?: number }) | null) =>
        error && error.code !== NO_SUCH_FILE ? reject(error) : resolve(),
      ),
    );
  }

  async chmod(path: string, mode: number): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) =>
      sftp.chmod(path, mode, (error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }

  /** mkdir -p, each folder created with `mode`. */
  async mkdirs(path: string, mode: number): Promise<void> {
    const sftp = await this.sftp();
    let current = path.startsWith("/") ? "" : ".";
    for (const part of path.split("/").filter(Boolean)) {
      current = `${current}/${part}`;
      if (await this.exists(current)) continue;
      await new Promise<void>((resolve, reject) =>
        sftp.mkdir(current, { mode }, (error?: Error | null) =>
          error ? reject(new Error(`cannot create ${current}: ${error.message}`)) : resolve(),
        ),
      );
      await this.chmod(current, mode);
    }
  }

  /** Whether a process runs on the host, from /proc (Linux): no shell needed. */
  async processAlive(pidFile: string): Promise<boolean> {
    const pid = (await this.readFile(pidFile))?.trim();
    return !!pid && /^\d+$/.test(pid) && (await this.exists(`/proc/${pid}`));
  }

  /** Writes a file atomically (a temporary file in the same folder, then renamed over) with `mode`. */
  async writeFile(path: string, content: string | Buffer, mode: number): Promise<void> {
    const sftp = await this.sftp();
    const draft = `${path}.tmp-${randomBytes(4).toString("hex")}`;
    await new Promise<void>((resolve, reject) => {
      sftp.writeFile(draft, content, { mode }, (error?: Error | null) => (error ? reject(error) : resolve()));
    });
    await this.commit(draft, path, mode);
  }

  /** Uploads a local file over SFTP, atomically, with `mode`. */
  async upload(localPath: string, path: string, mode: number): Promise<void> {
    const sftp = await this.sftp();
    const draft = `${path}.tmp-${randomBytes(4).toString("hex")}`;
    await new Promise<void>((resolve, reject) => {
      sftp.fastPut(localPath, draft, { mode }, (error?: Error | null) => (error ? reject(error) : resolve()));
    });
    await this.commit(draft, path, mode);
  }

  close(): void {
    this.sftpSession?.end();
    this.client.end();
  }

  private async commit(draft: string, path: string, mode: number): Promise<void> {
    const sftp = await this.sftp();
    try {
      await this.chmod(draft, mode);
      // posix-rename@openssh.com replaces the target in one step (plain SFTP rename refuses to).
      await new Promise<void>((resolve, reject) =>
        sftp.ext_openssh_rename(draft, path, (error?: Error | null) => (error ? reject(error) : resolve())),
      );
    } catch (error) {
      await new Promise<void>((resolve) => sftp.unlink(draft, () => resolve()));
      throw error;
    }
  }

  private sftp(): Promise<SFTPWrapper> {
    if (this.sftpSession) return Promise.resolve(this.sftpSession);
    return new Promise((resolve, reject) => {
      this.client.sftp((error: Error | undefined, sftp: SFTPWrapper) => {
        if (error) return reject(error);
        this.sftpSession = sftp;
        resolve(sftp);
      });
    });
  }
}
