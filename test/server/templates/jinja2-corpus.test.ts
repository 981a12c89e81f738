// The Jinja2 corpus (test/compat/jinja2-site: 120 templates written as Bcfg2 sites write them)
// rendered by python3-jinja2, set up as Bcfg2's CfgJinja2Generator sets it up, and by vacfg's
// engine, from the same variables: byte-identical output, or both refuse. (The comparison with
// the whole upstream server is test/compat/jinja2-site.compat.ts.)
import { expect } from "chai";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../support/paths.js";
import { renderWithPython, renderWithVacfg, type Rendered, type TemplateEntry } from "./jinja2-differential.js";

export const JINJA2_SITE = join(projectRoot, "test/compat/jinja2-site");

export function corpusTemplates(site = JINJA2_SITE): TemplateEntry[] {
  const dir = join(site, "Cfg/etc/jinja");
  return readdirSync(dir)
    .sort()
    .map((t) => ({ path: join(dir, t, `${t}.jinja2`), name: `/etc/jinja/${t}` }));
}

const probe = (s: string) => ({ __probe__: s });

/** Two clients as Bcfg2's ClientMetadata shows them to templates (sets and dicts as Python has them). */
const CLIENTS: Record<string, Record<string, unknown>> = {
  head0: {
    hostname: "head0",
    profile: "head",
    groups: { __set__: ["head", "cluster", "nfs-server", "linux", "debian", "bookworm", "rack-a"] },
    bundles: { __set__: ["jinja"] },
    categories: { role: "head", os: "linux", release: "bookworm", rack: "rack-a" },
    aliases: ["head0.cluster.lab"],
    addresses: ["10.1.0.1"],
    uuid: "1c7c0b2e-head0",
    Probes: {
      cpus: probe("2\n"),
      gpu: probe('{"model": "none"}\n'),
      group: probe("group:bookworm\n"),
      mounts: probe("# fstab\n/dev/sda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\n"),
      ifaces: probe('[{"name": "eth0", "dhcp": false, "addr": "10.1.0.1"}, {"name": "eth1", "dhcp": true}]\n'),
    },
    Properties: {},
  },
  node2: {
    hostname: "node2",
    profile: "worker",
    groups: { __set__: ["worker", "cluster", "compute", "linux", "debian", "trixie", "has-gpu"] },
    bundles: { __set__: ["jinja"] },
    categories: { role: "worker", os: "linux", release: "trixie" },
    aliases: [],
    addresses: [],
    uuid: null,
    Probes: {
      cpus: probe("16\n"),
      gpu: probe('{"model": "a100", "count": 2}\n'),
      group: probe("group:trixie\ngroup:has-gpu\n"),
      mounts: probe(""),
      ifaces: probe("not json\n"),
    },
    Properties: {},
  },
};

function same(a: Rendered, b: Rendered): boolean {
  return ("out" in a && "out" in b && a.out === b.out) || ("error" in a && "error" in b);
}

describe("Jinja2 corpus: vacfg's engine = python3-jinja2, template by template", function () {
  this.timeout(120_000);
  const templates = corpusTemplates();

  it("has at least 100 templates", () => {
    expect(templates.length).to.be.at.least(100);
  });

  for (const [client, metadata] of Object.entries(CLIENTS)) {
    it(`renders every template for ${client} as Python's Jinja2 does`, () => {
      const vars = { metadata: { __object__: metadata } };
      const py = renderWithPython(templates, vars, JINJA2_SITE);
      const ours = renderWithVacfg(templates, vars, JINJA2_SITE);
      const diffs = templates
        .map((t, i) => (same(py[i]!, ours[i]!) ? "" : `${t.name}\n  python: ${JSON.stringify(py[i])}\n  vacfg:  ${JSON.stringify(ours[i])}`))
        .filter((d) => d);
      expect(diffs, diffs.join("\n")).to.deep.equal([]);
      // The corpus is mostly output, not refusals.
      expect(py.filter((r) => "out" in r).length).to.be.at.least(90);
    });
  }
});
