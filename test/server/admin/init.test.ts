// `vacfg init`, vacfg.conf and the embedded defaults: real files in a temp dir, real
// certificates checked with node's X509 and a real TLS handshake that verifies the chain.
import { execFile } from "node:child_process";
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { ensureDefaults } from "../../../server/admin/ensure-defaults.js";
import { initSite } from "../../../server/admin/init.js";
import { loadServerConfig } from "../../../server/admin/server-config.js";
import { issueClientCertificate } from "../../../server/admin/tls-material.js";
import { projectRoot } from "../../support/paths.js";

const run = promisify(execFile);

function mode(p: string): number {
  return statSync(p).mode & 0o777;
}

describe("vacfg init and server configuration", function () {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), "vacfg-init-"));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it("lays out the repository skeleton, TLS material, password and vacfg.conf", function () {
    const r = initSite(tmp, { hostname: "cfg.example.test" });
    for (const d of ["Metadata", "Bundler", "Rules", "Cfg", "Probes", "Properties", "Defaults", "Decisions", "SSHbase"]) {
      expect(statSync(join(tmp, "repo", d)).isDirectory(), d).to.equal(true);
    }
    expect(readFileSync(join(tmp, "repo/Metadata/groups.xml"), "utf8")).to.match(/<Group name="default" profile="true" public="true" default="true"\/>/);
    expect(readFileSync(join(tmp, "repo/Metadata/clients.xml"), "utf8")).to.match(/^<Clients>/);
    expect(mode(join(tmp, "tls/ca.key"))).to.equal(0o600);
    expect(mode(join(tmp, "tls/server.key"))).to.equal(0o600);
    expect(mode(join(tmp, "password"))).to.equal(0o600);
    expect(mode(r.configPath)).to.equal(0o600);
    expect(readFileSync(join(tmp, "password"), "utf8").trim()).to.match(/^[A-Za-z0-9_-]{24}$/);

    const ca = new X509Certificate(readFileSync(join(tmp, "tls/ca.crt")));
    const srv = new X509Certificate(readFileSync(join(tmp, "tls/server.crt")));
    expect(ca.ca).to.equal(true);
    expect(srv.checkIssued(ca) && srv.verify(ca.publicKey)).to.equal(true);
    expect(srv.subject).to.equal("CN=cfg.example.test");
    expect(srv.subjectAltName).to.include("DNS:localhost").and.include("IP Address:127.0.0.1").and.include("DNS:cfg.example.test");
    expect(new Date(ca.validTo).getTime() - Date.now()).to.be.greaterThan(9 * 365 * 86400e3);
    expect(srv.publicKey.asymmetricKeyDetails?.modulusLength).to.equal(2048);

    const cfg = loadServerConfig(r.configPath);
    expect(cfg.settings.repo).to.equal(join(tmp, "repo"));
    expect(cfg.settings.password).to.equal(readFileSync(join(tmp, "password"), "utf8").trim());
    expect(cfg.settings.plugins).to.include.members(["Metadata", "Bundler", "Rules", "Cfg", "Probes"]);
    expect(cfg.settings.defaultAuth).to.equal("cert+password");
    expect(cfg.listen).to.deep.equal({ host: "0.0.0.0", port: 6789 });
    expect(cfg.storeUrl).to.equal(join(tmp, "vacfg.db"));
    expect(cfg.tls.ca).to.equal(readFileSync(join(tmp, "tls/ca.crt"), "utf8"));

    // the parameter signing key: private 0600, its public half configured in vacfg.conf
    expect(mode(join(tmp, "ctx-signing.key"))).to.equal(0o600);
    expect(readFileSync(r.configPath, "utf8")).to.match(/^\[context\]\npublic_key = ctx-signing\.pub$/m);
    expect(cfg.settings.contextKeys).to.deep.equal([readFileSync(join(tmp, "ctx-signing.pub"), "utf8")]);
    expect(createPublicKey(createPrivateKey(readFileSync(join(tmp, "ctx-signing.key")))).export({ type: "spki", format: "pem" })).to.equal(cfg.settings.contextKeys![0]);
    expect(cfg.settings.contextAllowUnsigned).to.equal(false);
  });

  it("never overwrites on a second run, and leaves an existing repository alone", function () {
    mkdirSync(join(tmp, "repo/Metadata"), { recursive: true });
    writeFileSync(join(tmp, "repo/Metadata/groups.xml"), "<Groups/>\n");
    const first = initSite(tmp, { hostname: "a" });
    expect(existsSync(join(tmp, "repo/Bundler"))).to.equal(false);
    expect(readFileSync(join(tmp, "repo/Metadata/groups.xml"), "utf8")).to.equal("<Groups/>\n");
    const before = ["tls/ca.key", "tls/ca.crt", "tls/server.key", "tls/server.crt", "password", "ctx-signing.key", "ctx-signing.pub", "vacfg.conf"].map((f) => readFileSync(join(tmp, f), "utf8"));
    const second = initSite(tmp, { hostname: "b" });
    expect(first.created.length).to.be.greaterThan(0);
    expect(second.created).to.deep.equal([]);
    const after = ["tls/ca.key", "tls/ca.crt", "tls/server.key", "tls/server.crt", "password", "ctx-signing.key", "ctx-signing.pub", "vacfg.conf"].map((f) => readFileSync(join(tmp, f), "utf8"));
    expect(after).to.deep.equal(before);
  });

  it("issues client certificates from the site CA, and the server certificate verifies against it", async function () {
    initSite(tmp, { hostname: "localhost" });
    const client = issueClientCertificate(join(tmp, "tls"), "node7", join(tmp, "clients"));
    const x = new X509Certificate(client.certPem);
    expect(x.subject).to.equal("CN=node7");
    expect(x.checkIssued(new X509Certificate(readFileSync(join(tmp, "tls/ca.crt"))))).to.equal(true);
    expect(mode(join(tmp, "clients/node7.key"))).to.equal(0o600);
    expect(() => issueClientCertificate(join(tmp, "tls"), "../evil")).to.throw(/not a valid certificate name/);

    // A real handshake with verification on: the chain and the name "localhost" check out.
    const cfg = loadServerConfig(join(tmp, "vacfg.conf"));
    const server = https.createServer({ cert: cfg.tls.cert, key: cfg.tls.key }, (_q, s) => s.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as { port: number }).port;
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get({ host: "127.0.0.1", port, servername: "localhost", ca: cfg.tls.ca, rejectUnauthorized: true }, (res) => {
            let b = "";
            res.on("data", (c) => (b += c));
            res.on("end", () => resolve(b));
          })
          .on("error", reject);
      });
      expect(body).to.equal("ok");
    } finally {
      server.close();
    }
  });

  it("reads bcfg2.conf names: [components] bcfg2 URL, authentication, allowed probe groups, relative paths", function () {
    initSite(tmp, { hostname: "h" });
    const conf = join(tmp, "vacfg.conf");
    const text = readFileSync(conf, "utf8")
      .replace(/listen_host = .*\n/, "")
      .replace(/listen_port = .*\n/, "")
      .replace("store = vacfg.db", "store = postgres://vacfg@127.0.0.1/vacfg\nmax_request_bytes = 4096")
      .replace("[communication]\n", "[communication]\nauthentication = cert\n")
      .concat("[components]\nbcfg2 = https://127.0.0.5:7000\n[probes]\nallowed_groups = gpu-.*\n  rack[0-9]+\n");
    writeFileSync(conf, text);
    const cfg = loadServerConfig(conf);
    expect(cfg.listen).to.deep.equal({ host: "127.0.0.5", port: 7000 });
    expect(cfg.settings.defaultAuth).to.equal("cert");
    expect(cfg.storeUrl).to.equal("postgres://vacfg@127.0.0.1/vacfg");
    expect(cfg.bodyLimit).to.equal(4096);
    expect(cfg.settings.allowedProbeGroups.map(String)).to.deep.equal(["/^(?:gpu-.*)$/", "/^(?:rack[0-9]+)$/"]);
  });

  it("names the file and line of a malformed configuration", function () {
    initSite(tmp, { hostname: "h" });
    const conf = join(tmp, "vacfg.conf");
    const good = readFileSync(conf, "utf8");
    const lineOf = (s: string, needle: string): number => s.split("\n").findIndex((l) => l.startsWith(needle)) + 1;

    writeFileSync(conf, good.replace("listen_port = 6789", "listen_port = http"));
    expect(() => loadServerConfig(conf)).to.throw(`${conf}:${lineOf(good, "listen_port")}: listen_port must be an integer`);

    writeFileSync(conf, good.replace("[communication]", "[communication\n"));
    expect(() => loadServerConfig(conf)).to.throw(`${conf}:${lineOf(good, "[communication")}: expected "[section]" or "key = value"`);

    writeFileSync(conf, "repository = repo\n" + good);
    expect(() => loadServerConfig(conf)).to.throw(`${conf}:1: "repository" appears before any [section]`);

    writeFileSync(conf, good.replace("protocol = xmlrpc/ssl", "protocol = xmlrpc/plain"));
    expect(() => loadServerConfig(conf)).to.throw(`${conf}:${lineOf(good, "protocol")}: protocol must be`);

    writeFileSync(conf, good.replace("certificate = tls/server.crt", "certificate = tls/missing.crt"));
    expect(() => loadServerConfig(conf)).to.throw(`${conf}:${lineOf(good, "certificate")}: certificate ${join(tmp, "tls/missing.crt")} cannot be read`);

    writeFileSync(join(tmp, "rsa.pub"), generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }));
    writeFileSync(conf, good.replace("public_key = ctx-signing.pub", "public_key = rsa.pub"));
    expect(() => loadServerConfig(conf)).to.throw(`${conf}:${lineOf(good, "public_key")}: ${join(tmp, "rsa.pub")}: a rsa key, expected Ed25519`);

    writeFileSync(conf, good.replace("public_key = ctx-signing.pub", "public_key = ctx-signing.pub\nallow_unsigned = maybe"));
    expect(() => loadServerConfig(conf)).to.throw(`${conf}:${lineOf(good, "public_key") + 1}: allow_unsigned must be true or false`);

    writeFileSync(conf, good.replace(/password = .*\n/, ""));
    expect(() => loadServerConfig(conf)).to.throw(`${conf}: [communication] password is required`);
  });

  it("runs as `vacfg init DIR` from the command line, and a second run changes nothing", async function () {
    const cli = join(projectRoot, "dist/cli/vacfg.js");
    const first = await run(process.execPath, [cli, "init", join(tmp, "site"), "--hostname", "localhost", "--port", "6800"], { encoding: "utf8" });
    expect(first.stdout).to.match(/created .*vacfg\.conf/);
    expect(loadServerConfig(join(tmp, "site/vacfg.conf")).listen.port).to.equal(6800);
    const second = await run(process.execPath, [cli, "init", join(tmp, "site")], { encoding: "utf8" });
    expect(second.stdout).to.match(/already initialised, nothing changed/);
    const bad = await run(process.execPath, [cli, "init", join(tmp, "other"), "--port", "x"], { encoding: "utf8" }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).to.include({ code: 1 });
    expect(existsSync(join(tmp, "other"))).to.equal(false);
  });

  it("ensureDefaults creates TLS material, a password and the parameter signing key once, with SQLite in the data directory", function () {
    const data = join(tmp, "data");
    const a = ensureDefaults(data, { repo: "/srv/repo" });
    expect(a.storeUrl).to.equal(join(data, "vacfg.db"));
    expect(a.settings.repo).to.equal("/srv/repo");
    expect(a.settings.dataDir).to.equal(data);
    expect(mode(join(data, "password"))).to.equal(0o600);
    expect(new X509Certificate(a.tls.cert).checkIssued(new X509Certificate(a.tls.ca))).to.equal(true);
    const b = ensureDefaults(data, { repo: "/srv/repo" });
    expect(b.tls).to.deep.equal(a.tls);
    expect(b.settings.password).to.equal(a.settings.password);
    expect(mode(join(data, "ctx-signing.key"))).to.equal(0o600);
    expect(a.settings.contextKeys).to.deep.equal([readFileSync(join(data, "ctx-signing.pub"), "utf8")]);
    expect(b.settings.contextKeys).to.deep.equal(a.settings.contextKeys);
  });
});
