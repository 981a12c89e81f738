// Per-client key entries for a test site's repository: a Cfg SSH key pair per host (privkey.xml,
// pubkey.xml) in a bundle every node gets (through the base group, which every profile has), and site-wide rsa/ecdsa SSHbase host keys, so that
// each new client generates only its ed25519 keys (fast) while every per-client write path runs.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

function write(repo: string, rel: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(join(repo, rel)), { recursive: true });
  writeFileSync(join(repo, rel), text, { mode });
}

export function addKeyEntries(repo: string): void {
  write(repo, "Cfg/root/.ssh/id_ed25519/privkey.xml", '<PrivateKey><Params type="ed25519"/></PrivateKey>\n');
  write(repo, "Cfg/root/.ssh/id_ed25519.pub/pubkey.xml", "<PublicKey/>\n");
  write(repo, "Bundler/keys.xml", '<Bundle>\n  <Path name="/root/.ssh/id_ed25519"/>\n  <Path name="/root/.ssh/id_ed25519.pub"/>\n</Bundle>\n');
  const groups = join(repo, "Metadata/groups.xml");
  const text = readFileSync(groups, "utf8");
  const base = '<Group name="base">\n';
  if (!text.includes(base)) throw new Error(`${groups}: no base group definition to add the keys bundle to`);
  writeFileSync(groups, text.replace(base, base + '    <Bundle name="keys"/>\n'));
  for (const type of ["rsa", "ecdsa"]) {
    const key = join(repo, "SSHbase", `ssh_host_${type}_key`);
    mkdirSync(dirname(key), { recursive: true });
    rmSync(key, { force: true });
    rmSync(key + ".pub", { force: true });
    execFileSync("ssh-keygen", ["-q", "-t", type, ...(type === "rsa" ? ["-b", "2048"] : []), "-N", "", "-C", "site", "-f", key]);
  }
}
