// bcfg2-lint's checks beyond schemas, each on a realistic breakage of a copy of the example
// repository (each passed as clean before): RequiredAttrs, InfoXML, ValidateJSON, GroupNames,
// Bundler (no generator, unused bundle), MergeFiles, TemplateAbuse, Comments; and the CLI's
// switches, -c vacfg.conf, the "N errors, M warnings" summary and its exit code.
import { execFile } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { lintRepository, type LintProblem } from "../../../server/lint/index.js";
import { exampleRepo, projectRoot } from "../../support/paths.js";

const execFileP = promisify(execFile);
const brief = (ps: LintProblem[]) => ps.map((p) => `${p.file}:${p.line} ${p.severity} ${p.code}`);

describe("vacfg lint: bcfg2-lint's checks", function () {
  let sandbox: string;
  let repo: string;
  beforeEach(() => {
    sandbox = mkdtempSync(join(tmpdir(), "vacfg-lint-checks-"));
    repo = join(sandbox, "repo");
    cpSync(exampleRepo, repo, { recursive: true });
  });
  afterEach(() => rmSync(sandbox, { recursive: true, force: true }));
  const write = (rel: string, text: string) => writeFileSync(join(repo, rel), text);

  it("RequiredAttrs: a Path directory without mode, a bad mode and owner", async () => {
    write(
      "Rules/extra.xml",
      '<Rules priority="20">\n  <Path name="/srv/data" type="directory" owner="root" group="root"/>\n  <Path name="/srv/x" type="permissions" owner="bad user" group="root" mode="0999"/>\n</Rules>\n',
    );
    const ps = (await lintRepository(repo)).filter((p) => p.file === "Rules/extra.xml");
    expect(brief(ps)).to.deep.equal([
      "Rules/extra.xml:2 error required-attrs-missing",
      "Rules/extra.xml:3 error required-attr-format",
      "Rules/extra.xml:3 error required-attr-format",
    ]);
    expect(ps[0].message).to.equal('Path "/srv/data" (type directory) is missing required attribute(s): mode');
    expect(ps.map((p) => p.message)).to.include('Path "/srv/x": mode="0999" is not a valid mode');
  });

  it("InfoXML: mode=\"0999\" and an Info without owner", async () => {
    write("Cfg/etc/motd/info.xml", '<FileInfo>\n  <Info owner="root" group="root" mode="0999"/>\n  <Group name="torque-head">\n    <Info group="root" mode="0644"/>\n  </Group>\n</FileInfo>\n');
    const ps = (await lintRepository(repo)).filter((p) => p.file === "Cfg/etc/motd/info.xml");
    expect(brief(ps)).to.deep.equal(["Cfg/etc/motd/info.xml:2 error infoxml-attr-format", "Cfg/etc/motd/info.xml:4 error required-infoxml-attrs-missing"]);
    expect(ps[0].message).to.contain('mode="0999" is not a valid mode');
  });

  it("ValidateJSON: a broken Properties JSON file at its line", async () => {
    write("Properties/site.json", '{\n  "cluster": "demo",\n  "nodes": [1, 2,]\n}\n');
    const ps = (await lintRepository(repo)).filter((p) => p.file === "Properties/site.json");
    expect(brief(ps)).to.deep.equal(["Properties/site.json:3 error json-failed-to-parse"]);
  });

  it("GroupNames: a group named `users group!` in groups.xml and in a bundle", async () => {
    write("Metadata/groups.xml", '<Groups>\n  <Group name="torque-worker" profile="true" public="true" default="true">\n    <Group name="users group!"/>\n  </Group>\n  <Group name="users group!">\n    <Bundle name="users"/>\n  </Group>\n  <Group name="torque-head" profile="true" public="true"/>\n</Groups>\n');
    const ps = (await lintRepository(repo)).filter((p) => p.code === "invalid-group-name");
    expect(brief(ps)).to.deep.equal(["Metadata/groups.xml:3 error invalid-group-name", "Metadata/groups.xml:5 error invalid-group-name"]);
    expect(ps[0].message).to.equal('invalid group name "users group!" (a group name has no white space)');
  });

  it("Bundler: an entry no generator can bind, a bundle groups.xml names with no file, a bundle nobody uses", async () => {
    write("Bundler/base.xml", '<Bundle>\n  <Path name="/etc/resolv.conf"/>\n  <Path name="/etc/nosuch.conf"/>\n  <Package name="not-in-rules"/>\n  <Path glob="/etc/*"/>\n</Bundle>\n');
    write("Bundler/spare.xml", "<Bundle>\n  <Path name=\"/etc/motd\"/>\n</Bundle>\n");
    write("Metadata/groups.xml", '<Groups>\n  <Group name="torque-worker" profile="true" public="true" default="true">\n    <Bundle name="base"/>\n    <Bundle name="ssh"/>\n    <Bundle name="users"/>\n    <Bundle name="torque-common"/>\n    <Bundle name="torque-mom"/>\n    <Bundle name="gone"/>\n  </Group>\n  <Group name="torque-head" profile="true" public="true">\n    <Bundle name="torque-server"/>\n  </Group>\n' +
      '  <Group name="slurm-head">\n    <Bundle name="host-identity"/>\n    <Bundle name="slurm-common"/>\n    <Bundle name="slurm-head"/>\n  </Group>\n  <Group name="slurm-worker">\n    <Bundle name="slurm-worker"/>\n  </Group>\n  <Group name="slurm-common"/>\n</Groups>\n');
    const ps = await lintRepository(repo);
    expect(brief(ps)).to.deep.equal([
      "Bundler/base.xml:3 error no-matching-generator",
      "Bundler/base.xml:4 error no-matching-generator",
      "Bundler/spare.xml:0 warning unused-bundle",
      "Metadata/groups.xml:8 error bundle-not-found",
    ]);
    expect(ps[0].message).to.equal('Path "/etc/nosuch.conf" cannot be bound (no Cfg/etc/nosuch.conf/ files, no Rules entry); clients would get failure="no matching generator"');
  });

  it("MergeFiles and TemplateAbuse: identical and near-identical alternatives, an executable template", async () => {
    write("Cfg/etc/motd/motd.G60_users", "Torque node, configured by vacfg.\n");
    write("Cfg/etc/motd/motd.G70_ssh", "Torque node, configured by vacfg.\n");
    chmodSync(join(repo, "Cfg/etc/hosts/hosts.jinja2"), 0o755);
    const ps = await lintRepository(repo);
    expect(brief(ps)).to.deep.equal(["Cfg/etc/hosts/hosts.jinja2:0 warning templated-executable", "Cfg/etc/motd/motd.G70_ssh:0 error identical-cfg"]);
    expect(ps[1].message).to.equal("identical to Cfg/etc/motd/motd.G60_users: one file with a broader group would do");
  });

  it("CLI: -c vacfg.conf ([lint] plugins, [errors], [Comments]), --disable/--enable, the summary, exit 1 on errors only", async () => {
    write("Rules/extra.xml", '<Rules priority="20">\n  <Path name="/srv/data" type="directory" owner="root" group="root"/>\n</Rules>\n');
    const vacfg = async (...args: string[]) => {
      try {
        const r = await execFileP(process.execPath, [join(projectRoot, "dist/cli/vacfg.js"), "lint", ...args], { cwd: sandbox });
        return { code: 0, out: r.stdout };
      } catch (e) {
        const x = e as { code: number; stdout: string; stderr: string };
        return { code: x.code, out: x.stdout + x.stderr };
      }
    };
    const plain = await vacfg("-r", "repo");
    expect(plain.code).to.equal(1);
    expect(plain.out).to.equal(`repo/Rules/extra.xml:2: Path "/srv/data" (type directory) is missing required attribute(s): mode [required-attrs-missing]\n1 error, 0 warnings\n`);
    const disabled = await vacfg("-r", "repo", "--disable", "RequiredAttrs");
    expect([disabled.code, disabled.out]).to.deep.equal([0, "0 errors, 0 warnings\n"]);
    writeFileSync(join(sandbox, "vacfg.conf"), "[server]\nrepository = repo\n[errors]\nrequired-attrs-missing = warning\n[Comments]\nbundler_comments = maintainer\n");
    const conf = await vacfg("-c", "vacfg.conf", "--enable", "Comments");
    expect(conf.code, conf.out).to.equal(0);
    expect(conf.out).to.contain(`${join(sandbox, "repo")}/Rules/extra.xml:2: warning: Path "/srv/data"`);
    expect(conf.out).to.contain(`${join(sandbox, "repo")}/Bundler/base.xml:0: warning: no comment containing "maintainer"`);
    expect(conf.out).to.match(/\n0 errors, 11 warnings\n$/);
    const unknown = await vacfg("-r", "repo", "--only", "Nosuch");
    expect(unknown.code).to.equal(1);
    expect(unknown.out).to.contain('--only: unknown lint check "Nosuch" (known: Validate, Templates,');
  });
});
