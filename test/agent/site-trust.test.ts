// The agent's TLS trust as the package starts it (node with AGENT_NODE_OPTIONS, no SSL_CERT_FILE, as
// under its systemd units): the server is checked against the site CA alone; the default store is the
// system's (a CA only in the hashed certificate directory is trusted, as apt trusts it), read lazily:
// no certificate bundle is opened when the first secure context is made.
import { expect } from "chai";
import { execFile, execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AGENT_NODE_OPTIONS } from "../../packaging/agent-bundle.js";
import { createCa, issueCertificate, type PemPair } from "../../server/admin/tls-material.js";
import { removeDir, tempDir } from "./fixtures.js";

const SITE_TRUST = join(dirname(fileURLToPath(import.meta.url)), "../../agent/site-trust.js");

describe("agent TLS trust: site CA for the server, the system's store read lazily for the rest", function () {
  this.timeout(60_000);
  let work: string;
  let site: PemPair;
  const servers: Server[] = [];
  let siteUrl: string;
  let systemUrl: string;

  async function serve(ca: PemPair): Promise<string> {
    const cert = issueCertificate(ca, { cn: "127.0.0.1", altNames: ["127.0.0.1"], usage: "server" });
    const s = createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end("ok"));
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    servers.push(s);
    return `https://127.0.0.1:${(s.address() as AddressInfo).port}/`;
  }

  before(async () => {
    work = tempDir("vacfg-site-trust-");
    site = createCa("site CA");
    const system = createCa("a CA of the system store");
    writeFileSync(join(work, "site.crt"), site.certPem);
    // the system's hashed directory (what update-ca-certificates keeps): HASH.0 per certificate
    writeFileSync(join(work, "system.crt"), system.certPem);
    const hash = execFileSync("openssl", ["x509", "-hash", "-noout", "-in", join(work, "system.crt")], { encoding: "utf8" }).trim();
    execFileSync("mkdir", [join(work, "certs")]);
    writeFileSync(join(work, "certs", `${hash}.0`), system.certPem);
    siteUrl = await serve(site);
    systemUrl = await serve(system);
  });
  after(async () => {
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
    removeDir(work);
  });

  it("checks the server against --ca alone, trusts the system directory elsewhere, and opens no bundle", async () => {
    const script = join(work, "child.mjs");
    writeFileSync(
      script,
      `import { readFileSync } from "node:fs";
import { get } from "node:https";
import { secureContext } from ${JSON.stringify(SITE_TRUST)};
const ctx = secureContext({ ca: readFileSync(${JSON.stringify(join(work, "site.crt"))}) });
const fetch = (url, o) => new Promise((r) => get(url, o, (res) => { res.resume(); r("ok"); }).on("error", (e) => r(e.code ?? e.message)));
const out = {
  siteWithSiteCa: await fetch(${JSON.stringify(siteUrl)}, { secureContext: ctx }),
  systemWithSiteCa: await fetch(${JSON.stringify(systemUrl)}, { secureContext: ctx }),
  systemWithDefaultStore: await fetch(${JSON.stringify(systemUrl)}, {}),
  certFileLeftSet: process.env.SSL_CERT_FILE ?? null,
};
console.log(JSON.stringify(out));
`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env, SSL_CERT_DIR: join(work, "certs") };
    delete env.SSL_CERT_FILE;
    delete env.NODE_EXTRA_CA_CERTS;
    const trace = join(work, "openat.log");
    // (not spawnSync: the servers answer from this process)
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile("strace", ["-f", "-e", "trace=openat,open", "-o", trace, process.execPath, ...AGENT_NODE_OPTIONS, script], { env, encoding: "utf8" }, (e, stdout, stderr) =>
        resolve({ code: e ? Number(e.code ?? 1) : 0, stdout, stderr }),
      ),
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({ siteWithSiteCa: "ok", systemWithSiteCa: "UNABLE_TO_VERIFY_LEAF_SIGNATURE", systemWithDefaultStore: "ok", certFileLeftSet: null });
    // the only certificate files opened: the site CA, and the one the system directory had for the chain
    const opened = [...readFileSync(trace, "utf8").matchAll(/open(?:at)?\([^"]*"([^"]+(?:\.pem|\.crt|\/[0-9a-f]{8}\.\d+))"/g)].map((m) => m[1]);
    expect([...new Set(opened)].sort()).to.deep.equal([join(work, "certs", readdirOne(join(work, "certs"))), join(work, "site.crt")].sort());
  });
});

function readdirOne(dir: string): string {
  return execFileSync("ls", [dir], { encoding: "utf8" }).trim();
}
