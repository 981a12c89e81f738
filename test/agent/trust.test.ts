// The agent's trust boundaries, against real TLS servers: it refuses to send its password to a
// server it cannot verify (no CA) unless --insecure says so, and under --root the server's probes
// run chrooted into the root (they describe the image, not the host) or not at all.
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createCa, issueCertificate } from "../../server/admin/tls-material.js";
import { startTestSite, type TestSite } from "../server/http/site.js";
import { CHROOT_NOFILE } from "../../agent/root.js";
import { addShell, makeBaseRoot, removeDir, runAgentProcess, tempDir } from "./fixtures.js";

describe("agent trust: the server's certificate and probes under --root", function () {
  this.timeout(120_000);
  let site: TestSite;
  let work: string;
  let conf: string;
  let ca: string;
  before(async () => {
    site = await startTestSite();
    work = tempDir("vacfg-agent-trust-");
    // World-readable, so an agent running as nobody can read its configuration and CA.
    chmodSync(work, 0o755);
    conf = join(work, "empty.conf");
    writeFileSync(conf, "");
    ca = join(work, "ca.crt");
    copyFileSync(join(site.tlsDir, "ca.crt"), ca);
    chmodSync(ca, 0o644);
  });
  after(async () => {
    await site?.cleanup();
    if (work) removeDir(work);
  });
  const root = (name: string, shell = true): string => {
    const r = join(work, name);
    makeBaseRoot(r);
    if (shell) addShell(r);
    return r;
  };

  describe("without a CA", () => {
    // Whoever answers: a TLS server with a certificate from a CA the agent was never given.
    let impostor: Server;
    let url: string;
    const authorizations: string[] = [];
    before(async () => {
      const other = createCa("impostor CA");
      const cert = issueCertificate(other, { cn: "127.0.0.1", altNames: ["127.0.0.1"], usage: "server" });
      impostor = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
        authorizations.push(req.headers.authorization ?? "");
        res.writeHead(500).end();
      });
      await new Promise<void>((r) => impostor.listen(0, "127.0.0.1", r));
      url = `https://127.0.0.1:${(impostor.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => impostor.close(() => r())));
    const run = (extra: string[]) => runAgentProcess(["-C", conf, "-S", url, "-u", "node1", "-x", "labsecret", "--root", root(`r-${randomBytes(4).toString("hex")}`), "-n", "-R", "1", ...extra]);

    it("refuses to run, says how to fix it, and sends nothing to whoever answers", async () => {
      const r = await run([]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain("no CA to verify the server").and.contain("--ca FILE").and.contain("--insecure");
      expect(authorizations).to.deep.equal([]);
    });

    it("with --ca-cert (bcfg2's option) the impostor fails the handshake and gets no password", async () => {
      const r = await run(["--ca-cert", ca]);
      expect(r.code).to.equal(1);
      expect(authorizations).to.deep.equal([]);
    });

    it("--insecure talks to a server it cannot verify, and warns that it does", async () => {
      const r = await run(["--insecure"]);
      expect(r.code).to.equal(1); // the impostor answers 500
      expect(r.stderr).to.contain("--insecure: the server certificate of 127.0.0.1");
      expect(authorizations.length).to.be.greaterThan(0);
      expect(authorizations[0]).to.equal(`Basic ${Buffer.from("node1:labsecret").toString("base64")}`);
    });

    it("the CA from the configuration file is enough (bcfg2.conf's [communication] ca)", async () => {
      const withCa = join(work, "with-ca.conf");
      writeFileSync(withCa, `[communication]\nca = ${ca}\n`);
      const r = await runAgentProcess(["-C", withCa, "-S", site.server.url, "-u", "node1", "-x", "labsecret", "--root", root("from-conf"), "-n"]);
      expect(r.code, r.stderr).to.equal(0);
    });
  });

  describe("probes under --root", () => {
    const hostMark = `/tmp/vacfg-probe-ran-${randomBytes(6).toString("hex")}`;
    before(() => {
      // dash builtins only: the root has no coreutils
      writeFileSync(
        join(site.config.settings.repo, "Probes/whereami"),
        `#!/bin/sh\nif [ -r /etc/vacfg-image-marker ]; then read m < /etc/vacfg-image-marker; echo "$m"; else echo host; fi\necho ran > ${hostMark}\nulimit -S -n\n`,
      );
    });
    after(() => {
      rmSync(join(site.config.settings.repo, "Probes/whereami"), { force: true });
      rmSync(hostMark, { force: true });
    });
    const agent = (r: string, client: string, opts: { uid?: number } = {}) =>
      runAgentProcess(["-C", conf, "-S", site.server.url, "-u", client, "-x", "labsecret", "--ca", ca, "--root", r, "-n"], opts);

    it("run chrooted into the root: they read the image's files and write there, never on the host", async () => {
      const r = root("image");
      writeFileSync(join(r, "etc/vacfg-image-marker"), "the image\n");
      const run = await agent(r, "node2");
      expect(run.code, run.stderr).to.equal(0);
      const data = await site.server.core.store.getProbeData("node2");
      expect(data?.values.find((v) => v.name === "whereami")?.value.split("\n")[0]).to.equal("the image");
      expect(existsSync(join(r, hostMark))).to.equal(true);
      expect(existsSync(hostMark)).to.equal(false);
    });

    it("run with the conventional soft open-file limit, not the one node raised itself to (a root has no /proc: apt-get would walk every descriptor up to it for each program it starts)", async () => {
      const r = root("nofile");
      const run = await agent(r, "node2");
      expect(run.code, run.stderr).to.equal(0);
      const data = await site.server.core.store.getProbeData("node2");
      const limit = Number(data?.values.find((v) => v.name === "whereami")?.value.split("\n")[1]);
      expect(limit).to.be.within(1, CHROOT_NOFILE);
    });

    it("are refused when the root has no interpreter for them, naming why (the run stops: exit_on_probe_failure)", async () => {
      const r = root("no-shell", false);
      const run = await agent(r, "node3");
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain(`Failed to execute probe`).and.contain(`${r} has no /bin/sh to chroot into`);
      expect(existsSync(hostMark)).to.equal(false);
    });

    it("are refused when the agent is not root (chroot needs it), naming why", async () => {
      const r = root("as-nobody");
      mkdirSync(join(r, "tmp"), { recursive: true, mode: 0o1777 });
      const run = await agent(r, "node4", { uid: 65534 });
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain("needs root (this agent runs as uid 65534)");
      expect(existsSync(hostMark)).to.equal(false);
    });
  });
});
