// OpenSSH key pairs made in-process with the ssh2 package (Node's crypto underneath, on the
// libuv thread pool): no ssh-keygen process per key. Keys come out in ssh-keygen's formats and
// defaults (openssh-key-v1 private key, "type base64 comment" public key, RSA 3072, ECDSA 256).
// Types ssh2 cannot make (dsa) and passphrase-protected keys still run ssh-keygen, in a private
// temp directory.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { hostname, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import ssh2 from "ssh2";
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
  /** Key comment; ssh-keygen's default (user@host of the server) when absent. */
  comment?: string;
}

const DEFAULT_BITS: Record<string, number> = { rsa: 3072, ecdsa: 256 };

function defaultComment(): string {
  let user = "root";
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry for this uid: keep ssh-keygen's usual answer for a server
  }
  return `${user}@${hostname()}`;
}

function inProcess(type: "rsa" | "ecdsa" | "ed25519", bits: number | undefined, opts: KeygenOptions): Promise<KeyPair> {
  const settings: Record<string, unknown> = { comment: opts.comment ?? defaultComment() };
  if (type !== "ed25519") settings.bits = bits ?? DEFAULT_BITS[type];
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, pair: { private: string; public: string }) => {
      if (err) reject(new VacfgError("REPO_FILE", `cannot generate a ${type} key${bits ? ` of ${bits} bits` : ""}: ${err.message}`, { cause: err }));
      else resolve({ privateKey: pair.private, publicKey: pair.public + "\n" });
    };
    try {
      (ssh2.utils.generateKeyPair as (t: string, o: unknown, cb: typeof done) => void)(type, settings, done);
    } catch (e) {
      done(e as Error, { private: "", public: "" });
    }
  });
}

/** ssh-keygen -t TYPE for the types ssh2 does not generate. */
async function withSshKeygen(opts: KeygenOptions): Promise<KeyPair> {
  const dir = await mkdtemp(join(tmpdir(), "vacfg-keygen-"));
  try {
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
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function generateKeyPair(opts: KeygenOptions): Promise<KeyPair> {
  if (!/^[a-z0-9-]+$/.test(opts.type)) throw new VacfgError("REPO_FILE", `unknown key type "${opts.type}"`);
  if (opts.bits !== undefined && !/^\d+$/.test(opts.bits)) throw new VacfgError("REPO_FILE", `key bits must be a number, not "${opts.bits}"`);
  const bits = opts.bits === undefined ? undefined : Number(opts.bits);
  // ssh-keygen's own limit; ssh2 would make a weaker key.
  if (opts.type === "rsa" && bits !== undefined && bits < 1024) throw new VacfgError("REPO_FILE", `Invalid RSA key length ${bits}: minimum is 1024`);
  // A passphrase means bcrypt-pbkdf, which ssh2 runs in JavaScript on the event loop (seconds): ssh-keygen does it.
  if (!opts.passphrase && (opts.type === "rsa" || opts.type === "ecdsa" || opts.type === "ed25519")) return inProcess(opts.type, bits, opts);
  return withSshKeygen(opts);
}

/** What `ssh-keygen -y` prints: the public key of an unencrypted private key, with its comment. */
export async function publicKeyOf(privateKey: string): Promise<string> {
  const key = ssh2.utils.parseKey(privateKey);
  if (key instanceof Error) throw new VacfgError("REPO_FILE", `cannot read the private key: ${key.message}`, { cause: key });
  const parsed = Array.isArray(key) ? key[0] : key;
  if (!parsed?.isPrivateKey()) throw new VacfgError("REPO_FILE", "cannot read the private key: not a private key");
  const b64 = parsed.getPublicSSH().toString("base64");
  return `${parsed.type} ${b64}${parsed.comment ? ` ${parsed.comment}` : ""}\n`;
}
