// A Bcfg2 site moving in (issue 16): one repository with SSL keys and certificates from the site's CA
// (sslkey.xml/sslcert.xml), Cfg files and Properties encrypted with upstream's bcfg2-crypt,
// GroupPatterns and Trigger, served by vacfg and by the upstream server. Every client gets the same
// GetConfig, entry by entry: generated keys and certificates are compared by what they certify.
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { upstreamCrypt } from "../support/upstream-bcfg2.js";
import { makeTestCa, type TestCa } from "../support/openssl-ca.js";
import { writeRepo } from "../server/core/harness.js";
import { certified, pathText, opensslVerify, SSL_SITE, UPSTREAM_INOTIFY } from "../server/plugins/cfg/ssl-fixture.js";
import { makeTriggersExecutable, TRIGGER_FILES, triggerArgs } from "../server/plugins/trigger-fixture.js";
import { configEntries, configsAfterProbes, KIT_PLUGINS, sideBySide, type SideBySide } from "./sites.js";

const ENCRYPTION = "[encryption]\nsite = s1te passphrase\n";
const KEY = "tls Path:/etc/ssl/private/host.key";
const CERT = "tls Path:/etc/ssl/certs/host.crt";

const SITE: Record<string, string> = {
  ...SSL_SITE,
  ...TRIGGER_FILES,
  "Metadata/groups.xml":
    '<Groups>\n  <Group name="web" profile="true" default="true"><Bundle name="tls"/><Bundle name="app"/></Group>\n  <Group name="db" profile="true"><Bundle name="tls"/></Group>\n  <Group name="rack1"><Bundle name="rack"/></Group>\n</Groups>\n',
  "Metadata/clients.xml":
    '<Clients>\n  <Client name="web1" profile="web" address="127.0.0.1">\n    <Alias name="www.example.org"/>\n  </Client>\n  <Client name="web2" profile="web"/>\n  <Client name="db1" profile="db"/>\n</Clients>\n',
  "GroupPatterns/config.xml": "<GroupPatterns>\n  <GroupPattern>\n    <NamePattern>^(web|db)1$</NamePattern>\n    <Group>rack1</Group>\n  </GroupPattern>\n</GroupPatterns>\n",
  "Bundler/app.xml": '<Bundle>\n  <Path name="/etc/app/secret.conf"/>\n  <Path name="/etc/app/db.conf"/>\n</Bundle>\n',
  "Bundler/rack.xml": '<Bundle>\n  <Path name="/etc/rack"/>\n</Bundle>\n',
  "Cfg/etc/rack/rack": "rack 1\n",
  "Cfg/etc/app/secret.conf/secret.conf": "shared secret\n",
  "Cfg/etc/app/secret.conf/secret.conf.H_web2": "web2 secret\n",
  "Cfg/etc/app/db.conf/db.conf.jinja2": "password = {{ metadata.Properties['secrets.xml'].xdata.find('Db').text }}\n",
  "Properties/secrets.xml": '<Properties>\n  <Db encrypted="site">hunter2</Db>\n</Properties>\n',
};

describe("a migrated Bcfg2 site (sslcert/sslkey, bcfg2-crypt files, GroupPatterns, Trigger): vacfg = upstream", function () {
  this.timeout(300_000);
  let s: SideBySide;
  let work: string;
  let ca: TestCa;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), "vacfg-migration-"));
    ca = makeTestCa(join(work, "ca"));
    const repo = join(work, "repo");
    writeRepo(repo, SITE);
    makeTriggersExecutable(repo);
    writeFileSync(join(work, "bcfg2.conf"), ENCRYPTION);
    for (const f of ["Cfg/etc/app/secret.conf/secret.conf", "Cfg/etc/app/secret.conf/secret.conf.H_web2"]) {
      await upstreamCrypt(join(work, "bcfg2.conf"), ["--encrypt", "--remove", join(repo, f)]);
    }
    await upstreamCrypt(join(work, "bcfg2.conf"), ["--encrypt", join(repo, "Properties/secrets.xml")]);
    expect(readFileSync(join(repo, "Properties/secrets.xml"), "utf8")).to.not.include("hunter2");
    const plugins = [...KIT_PLUGINS, "GroupPatterns", "Trigger"];
    s = await sideBySide(repo, {
      plugins,
      upstreamPlugins: ["GroupPatterns", "Trigger"],
      labPatched: true,
      extraConfig: `${UPSTREAM_INOTIFY}${ENCRYPTION}[sslca_default]\nconfig = ${ca.config}\npassphrase = ${ca.passphrase}\n`,
    });
    for (const r of [join(s.dir, "repo"), s.upstream.repo]) writeFileSync(join(r, "release"), "");
  });
  after(async () => {
    await s?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("sends every client the same configuration; keys and certificates certify the same things", async () => {
    const configs = await configsAfterProbes(s, { web1: [], web2: [], db1: [] });
    for (const [client, { upstream, vacfg }] of configs) {
      const theirs = configEntries(upstream);
      const ours = configEntries(vacfg);
      expect([...ours.keys()].sort(), client).to.deep.equal([...theirs.keys()].sort());
      for (const [id, entry] of ours) if (id !== KEY && id !== CERT) expect(entry, `${client} ${id}`).to.equal(theirs.get(id));
      const theirKey = readFileSync(join(s.upstream.repo, `Cfg/etc/ssl/private/host.key/host.key.H_${client}`), "utf8");
      const mine = certified(pathText(vacfg, "/etc/ssl/certs/host.crt"), pathText(vacfg, "/etc/ssl/private/host.key"));
      expect(mine, client).to.deep.equal(certified(pathText(upstream, "/etc/ssl/certs/host.crt"), theirKey));
      expect(mine.certBelongsToKey).to.equal(true);
      expect(opensslVerify(ca.cert, pathText(vacfg, "/etc/ssl/certs/host.crt"))).to.match(/: OK$/);
    }
    // What each part contributed: GroupPatterns' rack1 bundle, the decrypted file and Properties.
    const web1 = configEntries(configs.get("web1")!.vacfg);
    expect(web1.get("rack Path:/etc/rack")).to.include("rack 1");
    expect(web1.get("app Path:/etc/app/db.conf")).to.include("password = hunter2");
    expect(configEntries(configs.get("web2")!.vacfg).get("app Path:/etc/app/secret.conf")).to.include("web2 secret");
    expect(configEntries(configs.get("web2")!.vacfg).has("rack Path:/etc/rack")).to.equal(false);
  });

  it("runs the Trigger scripts with the same arguments on both servers", async () => {
    for (const client of ["web1", "db1"]) {
      const ours = await triggerArgs(join(s.dir, "repo"), client);
      const theirs = await triggerArgs(s.upstream.repo, client);
      expect(ours.slice(0, 4)).to.deep.equal(theirs.slice(0, 4));
      expect(ours[4]!.split(":").sort()).to.deep.equal(theirs[4]!.split(":").sort());
      expect(ours[4]!.split(":")).to.include("rack1");
    }
  });
});
