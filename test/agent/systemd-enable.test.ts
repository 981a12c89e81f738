// The in-process enable (agent/tools/systemd-enable.ts) against the real `systemctl --root=DIR
// enable` on twin roots: where it makes the links itself, the roots must end up alike, link for
// link; every case it does not follow must be left to systemctl.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { makeUnitLinks, plainEnableLinks } from "../../agent/tools/systemd-enable.js";
import { removeDir, tempDir } from "./fixtures.js";

/** A root's files: client path → content ("" for a directory), or "->TARGET" for a link. */
type Layout = Record<string, string>;

function build(root: string, layout: Layout): void {
  mkdirSync(join(root, "etc/systemd/system"), { recursive: true });
  for (const [p, v] of Object.entries(layout)) {
    const host = join(root, p);
    mkdirSync(dirname(host), { recursive: true });
    if (v.startsWith("->")) symlinkSync(v.slice(2), host);
    else if (p.endsWith("/")) mkdirSync(host, { recursive: true });
    else writeFileSync(host, v);
  }
}

/** Every link and directory under the root's /etc/systemd/system, with its target or mode. */
function etcTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const n of readdirSync(dir).sort()) {
      const p = join(dir, n);
      const st = lstatSync(p);
      const rel = relative(root, p);
      if (st.isSymbolicLink()) out.push(`${rel} -> ${readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.push(`${rel}/ ${(st.mode & 0o7777).toString(8)}`);
        walk(p);
      } else out.push(rel);
    }
  };
  walk(join(root, "etc/systemd/system"));
  return out;
}

const service = (install: string) => `[Unit]\nDescription=test\n[Service]\nExecStart=/bin/true\n${install}`;
const wanted = service("[Install]\nWantedBy=multi-user.target\n");

describe("systemd: a plain enable made in-process, as systemctl --root makes it", () => {
  let work: string;
  beforeEach(() => (work = tempDir("vacfg-sdenable-")));
  afterEach(() => removeDir(work));

  /** Applies the enable both ways on twin roots; returns what plainEnableLinks said and both trees. */
  const twins = (layout: Layout, units: string[]) => {
    const [ours, theirs] = [join(work, "ours"), join(work, "theirs")];
    build(ours, layout);
    build(theirs, layout);
    const links = plainEnableLinks(ours, units);
    if (links) makeUnitLinks(ours, links);
    const r = spawnSync("systemctl", [`--root=${theirs}`, "enable", ...units], { encoding: "utf8" });
    return { links, code: r.status, ours: etcTree(ours), theirs: etcTree(theirs) };
  };

  const plain: Array<[string, Layout, string[]]> = [
    ["a unit in /lib/systemd/system", { "lib/systemd/system/a.service": wanted }, ["a.service"]],
    ["a unit in /usr/lib of a merged /usr (spelled /lib, as systemctl finds it first)", { lib: "->usr/lib", "usr/lib/systemd/system/a.service": wanted }, ["a.service"]],
    ["a unit in /usr/lib of a split /usr", { "usr/lib/systemd/system/a.service": wanted }, ["a.service"]],
    ["a unit in /usr/local/lib", { "usr/local/lib/systemd/system/a.service": wanted }, ["a.service"]],
    ["a unit in /etc, ahead of its vendor copy", { "etc/systemd/system/a.service": service("[Install]\nWantedBy=graphical.target\n"), "lib/systemd/system/a.service": wanted }, ["a.service"]],
    [
      "lists: several words and lines, an empty assignment resetting, RequiredBy, comments, X- keys, spaces around =, duplicates",
      {
        "lib/systemd/system/a.service": service(
          "[Install]\n# a comment\nWantedBy=one.target two.target\nWantedBy=\n ; another\nWantedBy = three.target  four.target three.target\nRequiredBy=five.target\nX-Vendor=whatever %n\n",
        ),
      },
      ["a.service"],
    ],
    ["[Install] keys in another section are not read", { "lib/systemd/system/a.service": "[Service]\nWantedBy=wrong.target\n[Install]\nWantedBy=right.target\n[X-Other]\nRequiredBy=no.target\n" }, ["a.service"]],
    [
      "several units, one already enabled, a wants directory already there",
      { "lib/systemd/system/a.service": wanted, "lib/systemd/system/b.service": wanted, "etc/systemd/system/multi-user.target.wants/a.service": "->/lib/systemd/system/a.service" },
      ["a.service", "b.service"],
    ],
    ["a socket unit", { "lib/systemd/system/a.socket": "[Socket]\nListenStream=1234\n[Install]\nWantedBy=sockets.target\n" }, ["a.socket"]],
  ];
  for (const [what, layout, units] of plain) {
    it(`made here, alike: ${what}`, () => {
      const r = twins(layout, units);
      expect(r.links, "made here").to.not.equal(undefined);
      expect(r.code).to.equal(0);
      expect(r.ours).to.deep.equal(r.theirs);
      expect(r.ours.some((l) => l.includes(" -> ")), "links were made").to.equal(true);
    });
  }

  it("a second enable makes nothing (the links are there alike)", () => {
    const root = join(work, "r");
    build(root, { "lib/systemd/system/a.service": wanted });
    makeUnitLinks(root, plainEnableLinks(root, ["a.service"])!);
    expect(plainEnableLinks(root, ["a.service"])).to.deep.equal([]);
  });

  const asked: Array<[string, Layout, string[]]> = [
    ["a template instance", { "lib/systemd/system/a@.service": wanted }, ["a@x.service"]],
    ["Alias=", { "lib/systemd/system/a.service": service("[Install]\nWantedBy=multi-user.target\nAlias=b.service\n") }, ["a.service"]],
    ["Also=", { "lib/systemd/system/a.service": service("[Install]\nWantedBy=multi-user.target\nAlso=b.service\n"), "lib/systemd/system/b.service": wanted }, ["a.service"]],
    ["UpheldBy=", { "lib/systemd/system/a.service": service("[Install]\nUpheldBy=multi-user.target\n") }, ["a.service"]],
    ["a drop-in directory", { "lib/systemd/system/a.service": wanted, "etc/systemd/system/a.service.d/": "" }, ["a.service"]],
    ["a dash-prefix drop-in", { "lib/systemd/system/a-b.service": wanted, "lib/systemd/system/a-.service.d/": "" }, ["a-b.service"]],
    ["a unit-type drop-in", { "lib/systemd/system/a.service": wanted, "run/systemd/system/service.d/": "" }, ["a.service"]],
    ["masked", { "lib/systemd/system/a.service": wanted, "etc/systemd/system/a.service": "->/dev/null" }, ["a.service"]],
    ["an empty unit file (masked)", { "lib/systemd/system/a.service": "" }, ["a.service"]],
    ["an alias link in a vendor directory", { "lib/systemd/system/b.service": wanted, "lib/systemd/system/a.service": "->b.service" }, ["a.service"]],
    ["no [Install] section (static)", { "lib/systemd/system/a.service": service("") }, ["a.service"]],
    ["only an empty assignment", { "lib/systemd/system/a.service": service("[Install]\nWantedBy=\n") }, ["a.service"]],
    ["a specifier", { "lib/systemd/system/a.service": service("[Install]\nWantedBy=%N.target\n") }, ["a.service"]],
    ["quoting", { "lib/systemd/system/a.service": service('[Install]\nWantedBy="multi-user.target"\n') }, ["a.service"]],
    ["a continued line", { "lib/systemd/system/a.service": service("[Install]\nWantedBy=a.target \\\n b.target\n") }, ["a.service"]],
    ["a template target", { "lib/systemd/system/a.service": service("[Install]\nWantedBy=getty@tty1.target\n") }, ["a.service"]],
    ["a SysV script of the name", { "lib/systemd/system/a.service": wanted, "etc/init.d/a": "#!/bin/sh\n" }, ["a.service"]],
    ["no unit file", {}, ["a.service"]],
    ["a runtime unit", { "run/systemd/system/a.service": wanted }, ["a.service"]],
    ["a generated unit", { "run/systemd/generator/a.service": wanted }, ["a.service"]],
    ["a link already there to another file", { "lib/systemd/system/a.service": wanted, "etc/systemd/system/multi-user.target.wants/a.service": "->/lib/systemd/system/other.service" }, ["a.service"]],
    ["a file where the wants directory goes", { "lib/systemd/system/a.service": wanted, "etc/systemd/system/multi-user.target.wants": "x" }, ["a.service"]],
    ["one unit of several not plain", { "lib/systemd/system/a.service": wanted, "lib/systemd/system/b.service": service("") }, ["a.service", "b.service"]],
    ["a name that is no unit name", { "lib/systemd/system/a.service": wanted }, ["../a.service"]],
  ];
  for (const [what, layout, units] of asked) {
    it(`left to systemctl: ${what}`, () => {
      const root = join(work, "r");
      build(root, layout);
      expect(plainEnableLinks(root, units)).to.equal(undefined);
    });
  }

  it("left to systemctl: SYSTEMD_UNIT_PATH set", () => {
    const root = join(work, "r");
    build(root, { "lib/systemd/system/a.service": wanted });
    process.env.SYSTEMD_UNIT_PATH = "/srv/units:";
    try {
      expect(plainEnableLinks(root, ["a.service"])).to.equal(undefined);
    } finally {
      delete process.env.SYSTEMD_UNIT_PATH;
    }
    expect(plainEnableLinks(root, ["a.service"])).to.have.length(1);
  });
});
