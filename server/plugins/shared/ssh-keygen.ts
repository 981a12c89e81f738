// Runs OpenSSH's ssh-keygen in a private temp directory: new key pairs and public keys
// extracted from private ones. Nothing is left behind in the temp directory.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { VacfgError } from "../../../protocol/errors.js";

const run = promisify(execFile);

export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

export interface KeygenOptions {
  type: string;
  bits?: string;
  passphrase?: string;
  /** Key comment (-C); ssh-keygen's default (user@host of the server) when absent. */
  comment?: string;
}

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "vacfg-keygen-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function generateKeyPair(opts: KeygenOptions): Promise<KeyPair> {
  if (!/^[a-z0-9-]+$/.test(opts.type)) throw new VacfgError("REPO_FILE", `unknown key type "${opts.type}"`);
  if (opts.bits !== undefined && !/^\d+$/.test(opts.bits)) throw new VacfgError("REPO_FILE", `key bits must be a number, not "${opts.bits}"`);
  return inTempDir(async (dir) => {
    const file = join(dir, "key");
    const args = ["-q", "-f", file, "-t", opts.type];
    if (opts.bits) args.push("-b", opts.bits);
    args.push("-N", opts.passphrase ?? "");
    if (opts.comment !== undefined) args.push("-C", opts.comment);
    try {
      await run("ssh-keygen", args, { timeout: 60_000 });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new VacfgError("REPO_FILE", `ssh-keygen -t ${opts.type} failed: ${(err.stderr ?? err.message).trim()}`, { cause: e });
    }
    return { privateKey: await readFile(file, "utf8"), publicKey: await readFile(file + ".pub", "utf8") };
  });
}

/** `ssh-keygen -y`: the public key of an unencrypted private key. */
export async function publicKeyOf(privateKey: string): Promise<string> {
  return inTempDir(async (dir) => {
    const file = join(dir, "key");
    await writeFile(file, privateKey, { mode: 0o600 });
    try {
      const { stdout } = await run("ssh-keygen", ["-y", "-f", file], { timeout: 60_000 });
      return stdout;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new VacfgError("REPO_FILE", `ssh-keygen -y failed: ${(err.stderr ?? err.message).trim()}`, { cause: e });
    }
  });
}
