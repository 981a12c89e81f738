// [packages] options: vacfg.conf (errors name file:line), the repository's Packages/packages.conf,
// and what they change in bound entries.
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { el } from "../../../../protocol/xml.js";
import { initSite } from "../../../../server/admin/init.js";
import { loadServerConfig } from "../../../../server/admin/server-config.js";
import type { ClientMetadata } from "../../../../server/core/metadata.js";
import type { PluginContext } from "../../../../server/core/context.js";
import { PackagesPlugin } from "../../../../server/plugins/packages/index.js";

const meta = { hostname: "c1", profile: "p", groups: new Set(["amd64"]), bundles: new Set(), aliases: new Set(), addresses: new Set(), categories: new Map(), connectors: {} } as ClientMetadata;

describe("Packages options ([packages] in vacfg.conf and Packages/packages.conf)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-packages-opts-"));
    mkdirSync(join(dir, "repo/Packages"), { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** `vacfg init`'s vacfg.conf with a [packages] section appended; `line` is its first key's line. */
  let base = "";
  const conf = (packages: string) => {
    if (!base) base = readFileSync(initSite(dir, { hostname: "localhost" }).configPath, "utf8");
    writeFileSync(join(dir, "vacfg.conf"), `${base}\n[packages]\n${packages}`);
    return join(dir, "vacfg.conf");
  };
  const line = () => `${base}\n[packages]\n`.split("\n").length;
  const plugin = (packages = {}) =>
    new PackagesPlugin({ settings: { repo: join(dir, "repo"), dataDir: join(dir, "data"), password: "x", plugins: [], defaultAuth: "cert+password", allowedProbeGroups: [], packages }, logger: pino({ level: "silent" }) } as unknown as PluginContext);

  it("reads bcfg2.conf's keys and refuses a bad value naming file:line", () => {
    const ok = loadServerConfig(conf("resolver = disabled\nversion = any\napt_config = /etc/apt/sources.list.d/site.list\ncache = pkgcache\n"));
    expect(ok.settings.packages).to.deep.equal({ resolver: false, version: "any", aptConfig: "/etc/apt/sources.list.d/site.list", cache: join(dir, "pkgcache") });
    expect(loadServerConfig(conf("")).settings.packages).to.deep.equal({});
    expect(() => loadServerConfig(conf("version = latest\n"))).to.throw(`vacfg.conf:${line()}: version must be auto or any, found "latest"`);
    expect(() => loadServerConfig(conf("metadata = maybe\n"))).to.throw(`vacfg.conf:${line()}: expected enabled/disabled`);
    expect(() => loadServerConfig(conf("backends = Yum\n"))).to.throw(/Apt backend only/);
  });

  it("Packages/packages.conf sets what vacfg.conf does not; the version and config path reach the bound entries", async () => {
    writeFileSync(join(dir, "repo/Packages/packages.conf"), "[packages]\nversion = any\napt_config = /etc/apt/sources.list.d/site.list\n");
    const p = plugin();
    const pkg = el("Package", { name: "x" });
    await p.bindEntry(pkg, meta);
    expect(pkg.attrs).to.deep.equal({ name: "x", version: "any", type: "unknown" }); // no sources: upstream's "unknown"
    expect(p.handlesEntry(el("Path", { name: "/etc/apt/sources.list.d/site.list" }))).to.equal(true);
    expect(p.handlesEntry(el("Path", { name: "/etc/apt/sources.list.d/bcfg2-packages-generated-sources.list" }))).to.equal(false);
    const overridden = plugin({ version: "auto" });
    const again = el("Package", { name: "x" });
    await overridden.bindEntry(again, meta);
    expect(again.attrs.version).to.equal("auto");
  });
});
