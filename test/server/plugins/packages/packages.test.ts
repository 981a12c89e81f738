// The Packages plugin on a real server over TLS, with a real signed APT archive on 127.0.0.1:
// every client's closure (the sets test/compat/packages.compat.ts shows upstream Bcfg2 computes
// too), the generated sources.list, Packages.Refresh over XML-RPC, the cache in the data
// directory surviving a restart with the archive gone, and file:// sources.
import { expect } from "chai";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startAptArchive, type AptArchive } from "../../../../harness/apt-archive.js";
import { parseMethodResponse } from "../../../../protocol/xmlrpc/parser.js";
import { parseXml, type XmlElement } from "../../../../protocol/xml.js";
import type { ServerConfig } from "../../../../server/admin/server-config.js";
import type { StartedServer } from "../../../../server/start-server.js";
import { PACKAGES_SITE_PASSWORD as PASSWORD, sitePackages, sourcesXml, startPackagesServer, type PackagesServer } from "../../../support/packages-site.js";
import { call } from "../../http/wire.js";

/** The bcfg2 essentials of the archive's bookworm suite (Essential: yes, and what they need). */
const ESSENTIAL = ["base-files", "dash", "debianutils", "gcc-12-base", "libc6", "libgcc-s1"];

/** Each client's <Independent name="Packages">, as upstream Bcfg2 resolves it on this site. */
const CLOSURES: Record<string, string[]> = {
  // nginx-light: libssl3 | libssl1.1 has two providers → left to apt; httpd has two (nginx-light,
  // apache-lite) → nothing; mail-transport-agent has one → exim-lite; awk is a package and is
  // provided (mawk-lite), and no provider is in the set → awk itself on the last pass.
  web1: [...ESSENTIAL, "awk", "exim-lite", "libpython3-stdlib", "lsb-base", "nginx-common", "python3", "python3.11", "webapp-data"],
  web2: [...ESSENTIAL, "awk", "exim-lite", "libpython3-stdlib", "lsb-base", "nginx-common", "python3", "python3.11", "webapp-data"],
  // postgres-db recommended="true" brings pg-tools (and perl-lite); hwtool's amd64 dependencies.
  db1: [...ESSENTIAL, "adduser", "libcpuid", "libpq5", "perl-lite", "pg-tools", "postgresql-15", "tzdata"],
  // i386: hwtool also needs libi386-compat; contrib (essential="false") brings nonfree-fw's firmware-base.
  db2: [...ESSENTIAL, "adduser", "firmware-base", "libcpuid", "libi386-compat", "libpq5", "perl-lite", "pg-tools", "postgresql-15", "tzdata"],
  // trixie (recommended="true"): libnew and its Recommends newtool-doc; mawk-lite in the bundle
  // satisfies awk; "libfoo-abi (= 2)" is a versioned Provides, which never matches (upstream).
  lab1: [...ESSENTIAL, "adduser", "exim-lite", "libcpuid", "libfoo2", "libnew", "libpq5", "libpython3-stdlib", "lsb-base", "newtool-doc", "nginx-common", "perl-lite", "pg-tools", "postgresql-15", "python3", "python3.11", "tzdata", "webapp-data"],
  bare1: [],
};

async function rpc(port: number, client: string, method: string, ...args: string[]): Promise<unknown> {
  const r = await call(port, client, PASSWORD, method, ...args);
  const res = parseMethodResponse(r.body.toString("utf8"));
  if ("fault" in res && res.fault) throw new Error(`${method}: fault ${JSON.stringify(res.fault)}`);
  return (res as { value: unknown }).value;
}

async function config(port: number, client: string): Promise<XmlElement> {
  return parseXml(String(await rpc(port, client, "GetConfig")));
}

function closure(cfg: XmlElement): string[] {
  const indep = cfg.children.find((c) => c.tag === "Independent" && c.attrs.name === "Packages");
  return (indep?.children ?? []).map((e) => e.attrs.name).sort();
}

function entry(cfg: XmlElement, tag: string, name: string): XmlElement | undefined {
  for (const b of cfg.children) for (const e of b.children) if (e.tag === tag && e.attrs.name === name) return e;
  return undefined;
}

describe("Packages plugin (real archive over HTTP, real server over TLS)", function () {
  this.timeout(120_000);
  let archive: AptArchive;
  let site: PackagesServer;
  let repo: string;
  let cfg: ServerConfig;
  let server: StartedServer;

  before(async () => {
    archive = await startAptArchive(sitePackages());
    site = await startPackagesServer(archive.url);
    ({ repo, config: cfg, server } = site);
  });
  after(async () => {
    await site?.close();
    await archive?.close();
  });

  it("resolves every client's closure as upstream's Packages does", async () => {
    for (const [client, want] of Object.entries(CLOSURES)) {
      expect(closure(await config(server.port, client)), client).to.deep.equal([...want].sort());
    }
  });

  it("binds bundle Package entries (version auto, type deb) and leaves unknown names to the client", async () => {
    const lab = await config(server.port, "lab1");
    expect(entry(lab, "Package", "not-in-archive")?.attrs).to.include({ version: "auto", type: "deb" });
    expect(entry(lab, "Package", "webapp")?.attrs).to.include({ version: "auto", type: "deb" });
    const dep = entry(lab, "Package", "exim-lite")!;
    expect(dep.attrs).to.deep.equal({ name: "exim-lite", version: "auto", type: "deb", origin: "Packages" });
    // no source applies to bare1: upstream's type "unknown"
    expect(closure(await config(server.port, "bare1"))).to.deep.equal([]);
  });

  it("writes each client's APT sources list at upstream's apt_config path", async () => {
    const path = "/etc/apt/sources.list.d/bcfg2-packages-generated-sources.list";
    const web = entry(await config(server.port, "web1"), "Path", path)!;
    expect(web.attrs).to.include({ encoding: "ascii", owner: "root", group: "root", type: "file", mode: "0644", important: "true" });
    expect(web.text).to.equal(`# This config was generated automatically by the Bcfg2 Packages plugin\n\ndeb ${archive.url}/ bookworm main\n`);
    const lab = entry(await config(server.port, "lab1"), "Path", path)!;
    expect(lab.text).to.contain(`deb ${archive.url}/ trixie main\ndeb-src ${archive.url}/ trixie main\n`);
    // templates read the sources that apply as metadata.Packages['sources'] (upstream's url_map: every arch of each)
    expect(entry(await config(server.port, "lab1"), "Path", "/etc/package-sources.txt")?.text).to.equal(
      `main amd64 main bookworm False ${archive.url}/bookworm/main/amd64/\nmain i386 main bookworm False ${archive.url}/bookworm/main/i386/\nmain amd64 main trixie True ${archive.url}/trixie/main/amd64/\n`,
    );
  });

  it("keeps the downloaded indexes in the data directory", () => {
    const names = readdirSync(join(cfg.settings.dataDir, "packages-cache"));
    expect(names).to.include(`${archive.url}/dists/bookworm/main/binary-amd64/Packages.gz`.replace(/\//g, "@"));
    expect(names).to.include(`${archive.url}/dists/trixie/main/binary-amd64/Packages.gz`.replace(/\//g, "@"));
  });

  it("sees a newly published dependency only after Packages.Refresh (XML-RPC), then at once", async () => {
    archive.publish([
      { name: "webapp", version: "1.1-1", control: { Depends: "httpd, python3, mail-transport-agent, webapp-data, webapp-plugins" } },
      { name: "webapp-plugins", version: "1.1-1" },
    ]);
    expect(closure(await config(server.port, "web1"))).to.not.include("webapp-plugins"); // still the cached index
    expect(await rpc(server.port, "web1", "Packages.Refresh")).to.equal(true);
    expect(closure(await config(server.port, "web1"))).to.include("webapp-plugins");
    expect(closure(await config(server.port, "db1"))).to.not.include("webapp-plugins");
  });

  it("starts from its cache: a restarted server resolves the same closure with the archive unreachable", async () => {
    const before = closure(await config(server.port, "lab1"));
    const url = archive.url;
    await archive.close();
    server = await site.restart();
    expect(closure(await config(server.port, "lab1"))).to.deep.equal(before);
    // A refresh that cannot reach the archive keeps the indexes it had.
    expect(await rpc(server.port, "lab1", "Packages.Refresh")).to.equal(true);
    expect(closure(await config(server.port, "lab1"))).to.deep.equal(before);
    archive = await startAptArchive(sitePackages()); // for after()
    expect(url).to.not.equal("");
  });

  it("reads file:// sources (a new source on the first request that needs it), and Reload drops the cached indexes of sources that are gone", async () => {
    writeFileSync(join(repo, "Packages/sources.xml"), sourcesXml(`file://${archive.dir}`));
    expect(closure(await config(server.port, "web1"))).to.deep.equal([...CLOSURES.web1].sort());
    expect(readdirSync(join(cfg.settings.dataDir, "packages-cache")).some((n) => n.startsWith("http:"))).to.equal(true);
    expect(await rpc(server.port, "web1", "Packages.Reload")).to.equal(true);
    const cached = readdirSync(join(cfg.settings.dataDir, "packages-cache"));
    expect(cached.every((n) => n.startsWith("file:@@"))).to.equal(true);
    expect(existsSync(join(cfg.settings.dataDir, "packages-cache", cached[0]))).to.equal(true);
    expect(readFileSync(join(repo, "Packages/sources.xml"), "utf8")).to.contain("file://");
  });
});
