// The plugin registry with the default plugin list, and Properties as template data.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { pino } from "pino";
import { Core } from "../../../server/core/core.js";
import type { ServerSettings } from "../../../server/core/context.js";
import { DEFAULT_PLUGINS, instantiatePlugins, loadPlugins } from "../../../server/plugins/registry.js";
import type { PropertyFile } from "../../../server/plugins/properties.js";
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
      const props = (await core.buildMetadata("db1")).connectors.Properties as Record<string, PropertyFile>;
      expect(props["users.xml"].xdata!.children.map((c) => c.attrs.name)).to.deep.equal(["all", "dba"]);
      expect(props["plain.xml"].xdata!.children[0].tag).to.equal("Group");
      expect(props["plain.xml"].XMLMatch!().children.map((c) => c.attrs.name)).to.deep.equal(["dba"]);
      expect(props["site.json"].json).to.deep.equal({ dns: ["10.0.0.1"] });
      const web = (await core.buildMetadata("web1")).connectors.Properties as Record<string, PropertyFile>;
      expect(web["users.xml"].xdata!.children.map((c) => c.attrs.name)).to.deep.equal(["all"]);
      expect(() => loadPlugins(["Nope"], { settings, store, logger, metadata: () => { throw new Error("x"); }, plugins: () => [] })).to.throw(/unknown plugin "Nope"/);
      await core.close();
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
