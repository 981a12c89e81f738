// The agent installs a Packages closure into a real root (apt-get/dpkg aimed at the root, the
// sources list the server generated, the archive's signature checked with the root's keyring),
// and with version="auto" upgrades when the archive publishes a newer version: after the
// server's Packages.Refresh (a new dependency joins the closure) and, with no server refresh at
// all, from the agent's own apt-get update.
import { expect } from "chai";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startAptArchive, type AptArchive } from "../../harness/apt-archive.js";
import { parseDpkgStatus } from "../../agent/tools/apt.js";
import { PACKAGES_SITE_PASSWORD, sitePackages, startPackagesServer, type PackagesServer } from "../support/packages-site.js";
import { call } from "../server/http/wire.js";
import { makeBaseRoot, removeDir, runAgentProcess, tempDir } from "./fixtures.js";
import { names, readStats } from "./stats.js";

describe("agent: Packages closure into a real root, then version=\"auto\" upgrades", function () {
  this.timeout(300_000);
  let archive: AptArchive;
  let site: PackagesServer;
  let work: string;
  let root: string;
  let run = 0;

  before(async () => {
    archive = await startAptArchive(sitePackages());
    site = await startPackagesServer(archive.url);
    work = tempDir("vacfg-agent-packages-");
    root = join(work, "web1");
    makeBaseRoot(root); // no sources list of its own: the server's apt_config is the only one
    mkdirSync(join(root, "etc/apt/trusted.gpg.d"), { recursive: true });
    copyFileSync(archive.keyring, join(root, "etc/apt/trusted.gpg.d/vacfg-test-archive.gpg"));
  });
  after(async () => {
    await site?.close();
    await archive?.close();
    if (work) removeDir(work);
  });

  const agent = async () => {
    const stats = join(work, `stats-${++run}.xml`);
    const r = await runAgentProcess(["-S", site.server.url, "-u", "web1", "-x", PACKAGES_SITE_PASSWORD, "--ca", site.ca, "--root", root, "--stats-file", stats, "-v"]);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    return { ...readStats(stats), output: r.stdout + r.stderr };
  };
  const installed = () => parseDpkgStatus(readFileSync(join(root, "var/lib/dpkg/status"), "utf8"));

  it("installs the bundle's packages and the whole closure; nothing is bad", async () => {
    const s = await agent();
    expect(names(s.bad), s.output).to.deep.equal([]);
    expect(readFileSync(join(root, "etc/apt/sources.list.d/bcfg2-packages-generated-sources.list"), "utf8")).to.contain(`deb ${archive.url}/ bookworm main`);
    const have = installed();
    const wanted = ["nginx-light", "webapp", "awkuser", "awk", "exim-lite", "python3", "libpython3-stdlib", "nginx-common", "webapp-data", "base-files", "dash", "libc6"];
    for (const p of wanted) expect(have.has(p), p).to.equal(true);
    expect(have.get("webapp")?.version).to.equal("1.0-1");
    // apt picked libssl3 for nginx-light's "libssl3 | libssl1.1" (upstream leaves alternatives to the client): the one extra
    expect(s.extra.filter((e) => e.tag === "Package").map((e) => e.attrs.name)).to.deep.equal(["libssl3"]);
    expect(s.modified.map((e) => `${e.tag}:${e.attrs.name}`)).to.include.members(["Package:webapp", "Package:exim-lite"]);
  });

  it("a second run changes nothing", async () => {
    const s = await agent();
    expect(names(s.bad)).to.deep.equal([]);
    expect(s.modified).to.deep.equal([]);
  });

  it("after a newer webapp with a new dependency and Packages.Refresh: upgraded, the dependency installed", async () => {
    archive.publish([
      { name: "webapp", version: "1.1-1", control: { Depends: "httpd, python3, mail-transport-agent, webapp-data, webapp-plugins" } },
      { name: "webapp-plugins", version: "1.1-1" },
    ]);
    const r = await call(site.server.port, "web1", PACKAGES_SITE_PASSWORD, "Packages.Refresh");
    expect(r.body.toString()).to.contain("<boolean>1</boolean>");
    const s = await agent();
    expect(names(s.bad), s.output).to.deep.equal([]);
    expect(installed().get("webapp")?.version).to.equal("1.1-1");
    expect(installed().get("webapp-plugins")?.version).to.equal("1.1-1");
    expect(s.modified.map((e) => `${e.tag}:${e.attrs.name}`)).to.include.members(["Package:webapp", "Package:webapp-plugins"]);
  });

  it("a newer version alone (no server refresh) is found by the agent's own apt-get update and installed", async () => {
    archive.publish([{ name: "lsb-base", version: "11.7" }]);
    const s = await agent();
    expect(names(s.bad), s.output).to.deep.equal([]);
    expect(installed().get("lsb-base")?.version).to.equal("11.7");
    expect(s.modified.map((e) => `${e.tag}:${e.attrs.name}`)).to.deep.equal(["Package:lsb-base"]);
    expect(s.output).to.match(/lsb-base: version 11\.6, the package lists have a newer one/);
  });
});
