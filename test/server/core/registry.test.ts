// The plugin registry with the default plugin list, and Properties as template data.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { pino } from "pino";
import { Core } from "../../../server/core/core.js";
import type { ServerSettings } from "../../../server/core/context.js";
import { DEFAULT_PLUGINS, instantiatePlugins, loadPlugins } from "../../../server/plugins/registry.js";
import { templateMetadata } from "../../../server/plugins/shared/template-data/template-data.js";
import type { XmlPropertyFile } from "../../../server/plugins/shared/template-data/properties-view.js";
import type { XmlView } from "../../../server/plugins/shared/template-data/xdata.js";
import { openStore } from "../../../server/store/open-store.js";
import { REPO } from "./fixture-repo.js";
import { writeRepo } from "./harness.js";

describe("plugin registry", function () {
  it("loads the default plugin list; the core serves the same document; Properties resolve conditionals", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vacfg-registry-"));
    const store = await openStore(`sqlite:${join(dir, "store.db")}`);
    try {
      const repo = join(dir, "repo");
      writeRepo(repo, {
        ...REPO,
        "Properties/users.xml": '<Properties automatch="true"><User name="all"/><Group name="db"><User name="dba"/></Group></Properties>',
        "Properties/plain.xml": '<Properties><Group name="db"><User name="dba"/></Group></Properties>',
        "Properties/site.json": '{"dns": ["10.0.0.1"]}',
      });
      const settings: ServerSettings = { repo, dataDir: dir, password: "sitesecret", plugins: [], defaultAuth: "cert+password", allowedProbeGroups: [] };
      const logger = pino({ level: "silent" });
      const plugins = instantiatePlugins(settings, store, logger);
      expect(plugins.map((p) => p.name)).to.deep.equal(DEFAULT_PLUGINS);
      const core = new Core(settings, store, logger, plugins);
      await core.init();
      const doc = await core.getConfig("db1");
      expect(doc).to.include('<Service name="ssh" status="off" type="systemd" restart="true"/>');
      // As upstream: an automatch file is the matched element itself, others are PropertyFiles.
      const db1 = templateMetadata(await core.buildMetadata("db1"));
      const props = db1.Properties as Record<string, unknown>;
      const names = (e: XmlView) => e.findall("User").map((u) => u.get("name"));
      expect(names(props["users.xml"] as XmlView)).to.deep.equal(["all", "dba"]);
      const plain = props["plain.xml"] as XmlPropertyFile;
      expect(plain.xdata.getchildren()[0]!.tag).to.equal("Group");
      expect(names(plain.XMLMatch(db1))).to.deep.equal(["dba"]);
      expect((props["site.json"] as { json: unknown }).json).to.deep.equal({ dns: ["10.0.0.1"] });
      const web = templateMetadata(await core.buildMetadata("web1")).Properties as Record<string, unknown>;
      expect(names(web["users.xml"] as XmlView)).to.deep.equal(["all"]);
      expect(() => loadPlugins(["Nope"], { settings, store, logger, metadata: () => { throw new Error("x"); }, plugins: () => [] })).to.throw(/unknown plugin "Nope"/);
      await core.close();
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
