// `vacfg info` as an admin runs it (the real CLI process): read-only on an unknown client
// (repository and store byte-identical), secrets masked unless asked, bcfg2-info's views, -r with
// -c never ignored, and a broken bundle named with its file:line.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { initSite } from "../../../server/admin/init.js";
import { openStore } from "../../../server/store/open-store.js";
import { exampleRepo, projectRoot } from "../../support/paths.js";

const execFileP = promisify(execFile);
const VACFG = join(projectRoot, "dist/cli/vacfg.js");

async function vacfg(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, [VACFG, ...args], { cwd });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** Every file under dir with the sha256 of its bytes (directories as such): "byte-identical" is equality. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      if (lstatSync(p).isDirectory()) {
        out.set(r, "dir");
        walk(p, r);
      } else out.set(r, createHash("sha256").update(readFileSync(p)).digest("hex"));
    }
  };
  walk(dir, "");
  return out;
}

const FAKE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-not-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n";

describe("vacfg info: inspection without side effects", function () {
  let dir: string;
  const site = ["-r", "repo", "-d", "data"];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-info-"));
    cpSync(exampleRepo, join(dir, "repo"), { recursive: true });
    mkdirSync(join(dir, "repo/SSHbase"), { recursive: true });
    writeFileSync(join(dir, "repo/SSHbase/ssh_host_ed25519_key.H_node0"), FAKE_KEY, { mode: 0o600 });
    // a store as a running server leaves it: one client registered, its probe data stored
    const store = await openStore(`sqlite:${join(dir, "data/vacfg.db")}`);
    await store.upsertClient({ name: "node0", profile: "torque-head", firstSeen: 1 });
    await store.putProbeData({ client: "node0", values: [{ name: "vacfg-context", source: "Probes", value: '{"cluster_name":"demo"}' }], groups: ["gpu"], timestamp: Date.UTC(2026, 11, 4) });
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("an unknown client is shown as its first run would be, and the repository and store stay byte-identical", async () => {
    const before = tree(dir);
    for (const view of [[], ["--groups"], ["--bundles"], ["--probes"], ["--file", "/etc/ssh/ssh_host_rsa_key"]]) {
      const r = await vacfg(["info", "node9", ...site, ...view], dir);
      expect(r.code, r.stderr).to.equal(0);
    }
    const groups = await vacfg(["info", "node9", ...site, "--groups"], dir);
    expect(groups.stdout).to.contain("node9 (unknown: not registered; this is what its first run would get)");
    expect(groups.stdout).to.contain("profile:    appliance");
    const after = tree(dir);
    expect([...after].filter(([p, h]) => before.get(p) !== h).map(([p]) => p), "changed or new files").to.deep.equal([]);
    expect([...before.keys()].filter((p) => !after.has(p)), "removed files").to.deep.equal([]);
    const store = await openStore(`sqlite:${join(dir, "data/vacfg.db")}`);
    try {
      expect((await store.listClients()).map((c) => c.name)).to.deep.equal(["node0"]);
    } finally {
      await store.close();
    }
  });

  it("private keys and non-world-readable files are masked unless --show-secrets", async () => {
    const masked = await vacfg(["info", "node0", ...site, "--file", "/etc/ssh/ssh_host_ed25519_key"], dir);
    expect(masked.code, masked.stderr).to.equal(0);
    expect(masked.stdout).to.not.contain("PRIVATE KEY");
    expect(masked.stdout).to.contain(`[${FAKE_KEY.length} bytes of secret content masked; --show-secrets prints them]`);
    expect(masked.stderr).to.contain("contents of 1 secret entry masked");
    const whole = await vacfg(["info", "node0", ...site], dir);
    expect(whole.stdout).to.contain('name="/etc/ssh/ssh_host_ed25519_key"').and.not.contain("PRIVATE KEY");
    const shown = await vacfg(["info", "node0", ...site, "--file", "/etc/ssh/ssh_host_ed25519_key", "--show-secrets"], dir);
    expect(shown.stdout).to.contain(FAKE_KEY.trim());
  });

  it("--groups, --bundles, --probes and --file give bcfg2-info's views", async () => {
    const groups = await vacfg(["info", "node0", ...site, "--groups"], dir);
    expect(groups.stdout).to.equal(
      "client:     node0\nprofile:    torque-head\ngroups:     base, gpu, ssh, torque-common, torque-head, users\ncategories: (none)\nbundles:    base, ssh, torque-common, torque-server, users\n",
    );
    const bundles = await vacfg(["info", "node0", ...site, "--bundles"], dir);
    expect(bundles.stdout).to.match(/^torque-server: \d+ entries$/m);
    const probes = await vacfg(["info", "node0", ...site, "--probes"], dir);
    expect(probes.stdout).to.contain("  vacfg-context (Probes, /bin/sh)\n");
    expect(probes.stdout).to.contain('probe data received 2026-12-04T00:00:00.000Z:\n  vacfg-context: "{\\"cluster_name\\":\\"demo\\"}"\nprobe groups: gpu');
    const file = await vacfg(["info", "node0", ...site, "--file", "/etc/motd"], dir);
    expect(file.stdout).to.match(/^<Path name="\/etc\/motd" [^>]*>Torque HEAD node/);
    const choose = await vacfg(["info", "node0", ...site, "--groups", "--bundles"], dir);
    expect(choose.code).to.equal(1);
    expect(choose.stderr).to.contain("choose one of --groups, --bundles, --probes, --file");
  });

  it("-r with -c replaces the configured repository and says so; -d with -c is refused", async () => {
    const { configPath: conf } = initSite(join(dir, "site"), { hostname: "localhost" });
    writeFileSync(conf, readFileSync(conf, "utf8").replace(/^repository = .*$/m, `repository = ${join(dir, "nosuch")}`));
    const viaConf = await vacfg(["info", "node0", "-c", conf, "--groups"], dir);
    expect(viaConf.code).to.equal(1);
    expect(viaConf.stderr).to.contain(`repository ${join(dir, "nosuch")} does not exist`);
    const withRepo = await vacfg(["info", "node0", "-c", conf, "-r", "repo", "--groups"], dir);
    expect(withRepo.code, withRepo.stderr).to.equal(0);
    expect(withRepo.stderr).to.contain(`repository ${join(dir, "repo")} (from -r; ${conf} names ${join(dir, "nosuch")})`);
    expect(withRepo.stdout).to.contain("profile:    torque-head");
    const withData = await vacfg(["info", "node0", "-c", conf, "-d", "data"], dir);
    expect(withData.code).to.equal(1);
    expect(withData.stderr).to.contain("-d/--data-dir cannot be combined with -c/--config");
  });

  it("a broken bundle shows as a failure naming file:line, on stdout and in the summary on stderr", async () => {
    const broken = join(dir, "broken");
    cpSync(join(dir, "repo"), broken, { recursive: true });
    writeFileSync(join(broken, "Bundler/torque-mom.xml"), "<Bundle>\n  <Package name=\"torque-mom\">\n</Bundle>\n");
    const r = await vacfg(["info", "node1", "-r", "broken", "-d", "data"], dir);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/<Action name="bundle:torque-mom" [^>]*failure="bundle &quot;torque-mom&quot; could not be built: Bundler\/torque-mom\.xml:3: /);
    expect(r.stderr).to.match(/1 entry could not be built; node1's runs will not be clean:\n {2}Action bundle:torque-mom: bundle "torque-mom" could not be built: Bundler\/torque-mom\.xml:3: /);
    const b = await vacfg(["info", "node1", "-r", "broken", "-d", "data", "--bundles"], dir);
    expect(b.stdout).to.match(/^torque-mom: NOT BUILT: bundle "torque-mom" could not be built: Bundler\/torque-mom\.xml:3: /m);
  });
});
