// Cfg picks one file per client exactly as upstream ranks them: host > highest group priority > plain.
import { expect } from "chai";
import { CfgPlugin } from "../../../../server/plugins/cfg/index.js";
import { bindPath, clientMeta, pluginContext, tempRepo, xml, type TempRepo } from "./plugin-fixture.js";

describe("Cfg specificity", () => {
  let repo: TempRepo;
  let cfg: CfgPlugin;
  before(() => {
    repo = tempRepo();
    repo.write("Cfg/etc/motd/motd", "plain\n");
    repo.write("Cfg/etc/motd/motd.G10_web", "group web 10\n");
    repo.write("Cfg/etc/motd/motd.G20_db", "group db 20\n");
    repo.write("Cfg/etc/motd/motd.H_special", "host special\n");
    repo.write("Cfg/etc/motd/motd.H_other", "host other\n");
    repo.write("Cfg/etc/tie/tie.G30_a", "a\n");
    repo.write("Cfg/etc/tie/tie.G30_b", "b\n");
    repo.write("Cfg/etc/tie/tie", "plain tie\n");
    repo.write("Cfg/etc/tpl/tpl.H_special.jinja2", "{{ metadata.hostname }} via template\n");
    repo.write("Cfg/etc/tpl/tpl", "plain tpl\n");
    repo.write("Cfg/etc/tpl/tpl~", "editor backup, ignored\n");
    cfg = new CfgPlugin(pluginContext(repo.root));
  });
  after(() => repo.cleanup());

  const matrix: Array<[string, string[], string]> = [
    ["special", ["web", "db"], "host special\n"],
    ["h2", ["web", "db"], "group db 20\n"],
    ["h3", ["web"], "group web 10\n"],
    ["h4", ["db"], "group db 20\n"],
    ["h5", [], "plain\n"],
    ["other", [], "host other\n"],
  ];
  for (const [host, groups, expected] of matrix) {
    it(`gives ${host} in [${groups.join(",")}] ${JSON.stringify(expected)}`, async () => {
      const e = await bindPath(cfg, "/etc/motd", clientMeta(host, { groups }));
      expect(e.attrs.failure).to.equal(undefined);
      expect(e.text).to.equal(expected);
    });
  }

  it("refuses two group files of the same priority that both apply, naming both files", async () => {
    const e = await bindPath(cfg, "/etc/tie", clientMeta("h", { groups: ["a", "b"] }));
    expect(e.attrs.failure).to.match(/^bind error: conflicting sources with the same specificity \(Group a, priority 30\)/);
    expect(e.attrs.failure).to.contain("tie.G30_a").and.contain("tie.G30_b");
    expect((await bindPath(cfg, "/etc/tie", clientMeta("h", { groups: ["b"] }))).text).to.equal("b\n");
    expect((await bindPath(cfg, "/etc/tie", clientMeta("h", { groups: [] }))).text).to.equal("plain tie\n");
  });

  it("ranks a host-specific template above a plain file and ignores editor backups", async () => {
    expect((await bindPath(cfg, "/etc/tpl", clientMeta("special"))).text).to.equal("special via template\n");
    expect((await bindPath(cfg, "/etc/tpl", clientMeta("nobody"))).text).to.equal("plain tpl\n");
  });

  it("lists every directory holding files as a Path entry name, and nothing else", () => {
    expect([...cfg.entryNames("Path")].sort()).to.deep.equal(["/etc/motd", "/etc/tie", "/etc/tpl"]);
    expect(cfg.entryNames("Package").size).to.equal(0);
  });

  it("fails an entry for which no file applies with upstream's message", async () => {
    repo.write("Cfg/etc/only/only.H_x", "x\n");
    const e = await bindPath(cfg, "/etc/only", clientMeta("y"));
    expect(e.attrs.failure).to.match(/^bind error: No matching entries available for .*\/Cfg\/etc\/only for y$/);
    expect(xml(e)).to.match(/^<Path name="\/etc\/only" owner="root" group="root" mode="644" secontext="__default__" important="false" paranoid="true" sensitive="false" type="file" failure=/);
  });
});
