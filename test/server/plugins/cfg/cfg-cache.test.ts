// Cfg reads the repository through the file cache: an unchanged file is never parsed again,
// and an edit (or a new, more specific file) shows on the next bind without a restart.
import { expect } from "chai";
import { utimesSync } from "node:fs";
import { CfgPlugin } from "../../../../server/plugins/cfg/index.js";
import { bindPath, clientMeta, pluginContext, tempRepo, type TempRepo } from "./plugin-fixture.js";

describe("Cfg caching and live edits", () => {
  let repo: TempRepo;
  let cfg: CfgPlugin;
  const m = clientMeta("node1", { groups: ["compute"] });
  const names = ["/etc/a", "/etc/t", "/etc/i"];
  const bindAll = async () => Promise.all(names.map((n) => bindPath(cfg, n, m)));
  before(() => {
    repo = tempRepo();
    repo.write("Cfg/etc/a/a", "version 1\n");
    repo.write("Cfg/etc/t/t.jinja2", "tpl 1 {{ metadata.hostname }}\n");
    repo.write("Cfg/etc/i/i", "i\n");
    repo.write("Cfg/etc/i/info.xml", `<FileInfo><Info mode="0600"/></FileInfo>`);
    cfg = new CfgPlugin(pluginContext(repo.root));
  });
  after(() => repo.cleanup());

  it("parses each file once across binds while nothing changes", async () => {
    // Files changed within a clock tick of a read are read again (racily clean): these are older.
    await new Promise((r) => setTimeout(r, 50));
    const first = await bindAll();
    const parses = cfg.parseCount;
    expect(parses).to.equal(4);
    const second = await bindAll();
    expect(cfg.parseCount).to.equal(parses);
    expect(second.map((e) => e.text)).to.deep.equal(first.map((e) => e.text));
  });

  it("serves an edited plain file, template and info.xml on the next bind", async () => {
    const before = cfg.parseCount;
    repo.write("Cfg/etc/a/a", "version 2, longer\n");
    repo.write("Cfg/etc/t/t.jinja2", "tpl 2 {{ metadata.hostname | upper }}\n");
    repo.write("Cfg/etc/i/info.xml", `<FileInfo><Info mode="0640" owner="nobody"/></FileInfo>`);
    const [a, t, i] = await bindAll();
    expect(a!.text).to.equal("version 2, longer\n");
    expect(t!.text).to.equal("tpl 2 NODE1\n");
    expect([i!.attrs.mode, i!.attrs.owner]).to.deep.equal(["0640", "nobody"]);
    expect(cfg.parseCount).to.equal(before + 3);
  });

  it("notices a same-size edit through the mtime", async () => {
    const p = repo.write("Cfg/etc/a/a", "version 3, longer\n");
    const future = new Date(Date.now() + 5000);
    utimesSync(p, future, future);
    expect((await bindPath(cfg, "/etc/a", m)).text).to.equal("version 3, longer\n");
  });

  it("picks up a new group-specific file and a new entry directory without a restart", async () => {
    repo.write("Cfg/etc/a/a.G50_compute", "compute\n");
    repo.write("Cfg/etc/new/new", "new\n");
    expect((await bindPath(cfg, "/etc/a", m)).text).to.equal("compute\n");
    expect(cfg.entryNames("Path").has("/etc/new")).to.equal(true);
    expect((await bindPath(cfg, "/etc/new", m)).text).to.equal("new\n");
  });
});
