// `vacfg viz`: groups.xml's groups (profiles bold, categories coloured), bundles and each profile's
// clients as a Graphviz digraph that dot accepts, rendered to SVG by Graphviz.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { initSite } from "../../server/admin/init.js";
import { projectRoot } from "../support/paths.js";
import { writeRepo } from "../server/core/harness.js";

const run = promisify(execFile);
const vacfg = join(projectRoot, "dist/cli/vacfg.js");

describe("vacfg viz", function () {
  this.timeout(120_000);
  let dir: string;
  let conf: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-viz-"));
    writeRepo(join(dir, "repo"), {
      "Metadata/groups.xml":
        '<Groups>\n  <Group name="web" profile="true" default="true">\n    <Bundle name="nginx"/>\n    <Group name="linux"/>\n  </Group>\n  <Group name="db" profile="true"><Bundle name="pg"/><Group name="linux"/></Group>\n  <Group name="linux" category="os"><Bundle name="base"/></Group>\n</Groups>\n',
      "Metadata/clients.xml": '<Clients>\n  <Client name="web1" profile="web"/>\n  <Client name="web2" profile="web"/>\n  <Client name="db1" profile="db"/>\n</Clients>\n',
    });
    conf = initSite(dir, { hostname: "localhost" }).configPath;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints the groups, bundles and hosts as upstream's Metadata.viz lays them out", async () => {
    const { stdout } = await run(process.execPath, [vacfg, "viz", "-c", conf, "-b", "-H", "-k"], { encoding: "utf8" });
    expect(stdout).to.match(/^digraph groups \{\n\trankdir="LR";/);
    // As upstream: colours by category in order of first use, groups without one sharing the first.
    expect(stdout).to.include('"group-web" [label="web", style="filled, bold", fillcolor=steelblue1];');
    expect(stdout).to.include('"group-linux" [label="linux", style="filled", fillcolor=chartreuse];');
    expect(stdout).to.include('"group-web" -> "bundle-nginx";').and.include('"group-web" -> "group-linux";').and.include('"group-db" -> "group-linux";');
    expect(stdout).to.include('"bundle-base" [ label="base", shape="septagon"];');
    expect(stdout).to.include('"web-instances" [ label="web1|web2", shape="record" ];').and.include('"db-instances" -> "group-db";');
    expect(stdout).to.include('"os" [label="os", shape="trapezium", style="filled", fillcolor="chartreuse"];');
    // Graphviz accepts it
    writeFileSync(join(dir, "g.dot"), stdout);
    expect((await run("dot", ["-Tcanon", join(dir, "g.dot")], { encoding: "utf8" })).stdout).to.include("group-linux");
  });

  it("--only-client keeps that client's groups and bundles; -o FILE.svg is rendered by Graphviz", async () => {
    const { stdout } = await run(process.execPath, [vacfg, "viz", "-c", conf, "-b", "--only-client", "db1"], { encoding: "utf8" });
    expect(stdout).to.include('"group-db"').and.include('"bundle-pg"').and.include('"bundle-base"');
    expect(stdout).to.not.include('"group-web"').and.not.include('"bundle-nginx"');
    const svg = join(dir, "groups.svg");
    await run(process.execPath, [vacfg, "viz", "-c", conf, "-b", "-H", "-o", svg], { encoding: "utf8" });
    const text = readFileSync(svg, "utf8");
    expect(text).to.include("<svg").and.include("web1").and.include("nginx");
    const help = await run(process.execPath, [vacfg, "viz", "--help"], { encoding: "utf8" });
    expect(help.stdout).to.include("bcfg2-admin viz").and.include("--includebundles");
  });
});
