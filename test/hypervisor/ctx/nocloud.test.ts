// NoCloud delivery: the cidata volume (vfat and iso9660) built without root holds meta-data
// and a #cloud-config user-data that writes the parameter file and sets users and DNS.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseParameterFile, serializeParameterFile } from "../../../protocol/params.js";
import { buildNoCloudVolume, noCloudSeed } from "../../../hypervisor/ctx/nocloud.js";
import { contextFromUserData } from "../../../agent/context/locate-params.js";
import { ALICE_KEY, FIGURE1 } from "../../support/figure1.js";

function sh(cmd: string, args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, ...env } });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

describe("NoCloud delivery (hypervisor/ctx/nocloud.ts)", () => {
  let dir: string;
  const params = parseParameterFile(FIGURE1);
  const seed = noCloudSeed(params, { hostname: "node1", fqdn: "node1.cluster", secret: true });
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-nocloud-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the parameter file, users and resolv.conf settings into #cloud-config", () => {
    expect(seed.metaData).to.equal("instance-id: vacfg-node1.cluster\nlocal-hostname: node1\n");
    expect(seed.userData.startsWith("#cloud-config\n")).to.equal(true);
    const cfg = JSON.parse(seed.userData.slice("#cloud-config\n".length));
    expect(cfg.write_files).to.have.length(1);
    expect(cfg.write_files[0]).to.include({ path: "/etc/vacfg/context.xml", owner: "root:root", permissions: "0600", encoding: "b64" });
    expect(Buffer.from(cfg.write_files[0].content, "base64").toString()).to.equal(serializeParameterFile(params));
    expect(cfg.users).to.deep.equal(["default", { name: "alice", ssh_authorized_keys: [ALICE_KEY] }, { name: "bob", ssh_authorized_keys: [cfg.users[2].ssh_authorized_keys[0]] }]);
    expect(cfg.manage_resolv_conf).to.equal(true);
    expect(cfg.resolv_conf).to.deep.equal({ nameservers: ["10.0.0.1", "10.0.0.2"], domain: "cluster", searchdomains: ["cluster"] });
    expect(contextFromUserData(seed.userData)).to.equal(serializeParameterFile(params));
  });

  it("builds a vfat volume labelled CIDATA that mtools reads back", () => {
    const img = join(dir, "seed.vfat");
    buildNoCloudVolume(img, seed, "vfat");
    const env = { MTOOLS_SKIP_CHECK: "1" };
    expect(sh("mlabel", ["-i", img, "-s", "::"], env)).to.match(/Volume label is CIDATA/);
    expect(sh("mtype", ["-i", img, "::user-data"], env)).to.equal(seed.userData);
    expect(sh("mtype", ["-i", img, "::meta-data"], env)).to.equal(seed.metaData);
    expect(readdirSync(dir)).to.deep.equal(["seed.vfat"]);
  });

  it("builds an iso9660 volume with volume id cidata that xorriso reads back", () => {
    const img = join(dir, "seed.iso");
    buildNoCloudVolume(img, seed, "iso");
    const info = sh("xorriso", ["-indev", img, "-pvd_info"]) + spawnSync("xorriso", ["-indev", img, "-pvd_info"], { encoding: "utf8" }).stderr;
    expect(info).to.match(/Volume Id\s*:\s*cidata/);
    const out = join(dir, "extract");
    sh("xorriso", ["-osirrox", "on", "-indev", img, "-extract", "/", out]);
    expect(readFileSync(join(out, "user-data"), "utf8")).to.equal(seed.userData);
    expect(readFileSync(join(out, "meta-data"), "utf8")).to.equal(seed.metaData);
  });

  it("makes the file 0644 when nothing is secret, and refuses YAML-hostile host names", () => {
    const open = noCloudSeed(params, { hostname: "node2", fqdn: "node2.cluster", secret: false });
    expect(JSON.parse(open.userData.slice(14)).write_files[0].permissions).to.equal("0644");
    expect(() => noCloudSeed(params, { hostname: "x: y", fqdn: "x", secret: false })).to.throw(/not a plain host name/);
  });
});
