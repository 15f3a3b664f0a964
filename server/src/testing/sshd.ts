import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const SSHD = "/usr/sbin/sshd";

/** A real OpenSSH server on loopback with its own config, keys and authorized_keys, for one test file. */
export interface TestSshd {
  host: string;
  port: number;
  user: string;
  /** What ssh-keygen -lf prints for its host key. */
  hostKeyFingerprint: string;
  /** An authorized client key (OpenSSH format, no passphrase). */
  clientPrivateKey: string;
  /** Another host key's fingerprint, for "wrong key" cases. */
  otherFingerprint: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startSshd(): Promise<TestSshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: apt-get install -y openssh-server (.ci/run does)`);
  const dir = await mkdtemp(join(tmpdir(), "vyvo-sshd-"));
  const keygen = (name: string) =>
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", join(dir, name)]);
  await Promise.all([keygen("host_key"), keygen("client_key"), keygen("other_host_key")]);
  await writeFile(join(dir, "authorized_keys"), await readFile(join(dir, "client_key.pub")), { mode: 0o600 });
  const port = await freePort();
  const config = join(dir, "sshd_config");
  await writeFile(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_key")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  // sshd wants its privilege-separation folder even when it runs unprivileged.
  await mkdir("/run/sshd", { recursive: true }).catch(() => undefined);
  await run(SSHD, ["-t", "-f", config]);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(SSHD, ["-f", config, "-E", join(dir, "sshd.log")], { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`sshd exited with ${code}`))));
  });
  await waitForPort(port);
  const fingerprint = async (name: string) =>
    ((await run("ssh-keygen", ["-lf", join(dir, `${name}.pub`)])).stdout.split(" ")[1] ?? "").trim();
  return {
    host: "127.0.0.1",
    port,
    user: userInfo().username,
    hostKeyFingerprint: await fingerprint("host_key"),
    otherFingerprint: await fingerprint("other_host_key"),
    clientPrivateKey: await readFile(join(dir, "client_key"), "utf8"),
    dir,
    async stop() {
      const pid = Number((await readFile(join(dir, "sshd.pid"), "utf8").catch(() => "")).trim());
      if (pid > 0) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {}
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.end();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
