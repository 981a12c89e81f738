// Change notification vouching for cached parses (repo-trust.ts): inside a trust scope a file
// checked at the current generation is reused without a stat, and every change is seen once its
// event is read (settle) or, for the server's own writes, at once; outside a scope the caches
// check the disk as before. Then a GetConfig with the build cache off but the repository watched
// (what the server does when a client's inputs changed) equals a fresh server after every edit.
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pino } from "pino";
import { Core } from "../../../server/core/core.js";
import type { ServerSettings } from "../../../server/core/context.js";
import { DirCache, FileCache } from "../../../server/core/file-cache.js";
import { RepoWatcher } from "../../../server/core/repo-watch.js";
import { writeFileAtomic } from "../../../server/plugins/shared/repo-write.js";
import { instantiatePlugins } from "../../../server/plugins/registry.js";
import { openStore } from "../../../server/store/open-store.js";
import type { Store } from "../../../server/store/store.js";

const silent = pino({ level: "silent" });

describe("server core: change notification vouches for cached parses", () => {
  let root: string;
  let watcher: RepoWatcher;
  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), "vacfg-trust-"));
    mkdirSync(join(root, "Cfg", "etc", "motd"), { recursive: true });
    writeFileSync(join(root, "Cfg", "etc", "motd", "motd"), "one\n");
    watcher = new RepoWatcher(root, silent);
    await watcher.start();
  });
  afterEach(() => {
    watcher.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("reuses a checked file without a stat inside a scope, sees an edit once its event is read, and checks the disk outside a scope", async () => {
    const parses: string[] = [];
    const files = new FileCache((text) => (parses.push(text), text));
    const dirs = new DirCache();
    const motd = join(root, "Cfg", "etc", "motd", "motd");
    const dir = join(root, "Cfg", "etc", "motd");
    await watcher.settle();
    await watcher.trusted(async () => {
      expect(files.get(motd)).to.equal("one\n");
      expect(dirs.list(dir)).to.deep.equal(["motd"]);
      // Written behind the cache's back, in the same turn: the watcher has not read the event yet,
      // so the vouched entries are served without looking at the disk (the stat saved).
      writeFileSync(motd, "two, longer\n");
      writeFileSync(join(dir, "motd.H_node1"), "node1\n");
      expect(files.get(motd)).to.equal("one\n");
      expect(dirs.list(dir)).to.deep.equal(["motd"]);
      await watcher.settle();
      expect(files.get(motd)).to.equal("two, longer\n");
      expect(dirs.list(dir)).to.deep.equal(["motd", "motd.H_node1"]);
      // A missing file is remembered as missing, and its creation is seen the same way.
      const absent = join(dir, "motd.H_node2");
      expect(files.get(absent)).to.equal(undefined);
      writeFileSync(absent, "node2\n");
      await watcher.settle();
      expect(files.get(absent)).to.equal("node2\n");
    });
    // Outside a scope nothing is vouched for: the very next get sees the edit.
    writeFileSync(motd, "three, longer still\n");
    expect(files.get(motd)).to.equal("three, longer still\n");
    expect(parses).to.deep.equal(["one\n", "two, longer\n", "node2\n", "three, longer still\n"]);
  });

  it("counts the server's own writes to the repository at once, before the watcher's event", async () => {
    const files = new FileCache((text) => text);
    const dirs = new DirCache();
    const dir = join(root, "SSHbase");
    const key = join(dir, "ssh_host_rsa_key.H_node1");
    await watcher.settle();
    await watcher.trusted(async () => {
      expect(dirs.list(dir)).to.deep.equal([]);
      expect(files.get(key)).to.equal(undefined);
      await writeFileAtomic(key, "KEY\n", 0o600);
      expect(dirs.list(dir)).to.deep.equal(["ssh_host_rsa_key.H_node1"]);
      expect(files.get(key)).to.equal("KEY\n");
    });
  });

  it("vouches for nothing once notification is off (a symbolic link appeared)", async () => {
    const files = new FileCache((text) => text);
    const motd = join(root, "Cfg", "etc", "motd", "motd");
    await watcher.settle();
    await watcher.trusted(async () => expect(files.get(motd)).to.equal("one\n"));
    symlinkSync("/etc", join(root, "Cfg", "link"));
    await watcher.settle();
    expect(watcher.reliable).to.equal(false);
    await watcher.trusted(async () => {
      writeFileSync(motd, "edited while nothing vouches\n");
      expect(files.get(motd)).to.equal("edited while nothing vouches\n");
    });
  });
});

const FILES: Record<string, string> = {
  "Metadata/groups.xml": `<Groups>
  <Group name="web" profile="true" public="true" default="true"><Bundle name="app"/></Group>
  <Group name="db" profile="true" public="true"><Bundle name="app"/><Bundle name="db"/></Group>
</Groups>`,
  "Metadata/clients.xml": `<Clients><Client name="web1" profile="web"/><Client name="db1" profile="db"/></Clients>`,
  "Bundler/app.xml": `<Bundle><Path name="/etc/motd"/><Path name="/etc/app.conf"/><Package name="pkg"/><Group name="db"><Path name="/etc/db-only"/></Group></Bundle>`,
  "Bundler/db.xml": `<Bundle><Package name="dbpkg"/><Client name="db1"><Service name="db"/></Client></Bundle>`,
  "Cfg/etc/motd/motd": "welcome\n",
  "Cfg/etc/app.conf/app.conf.jinja2": "host={{ metadata.hostname }}\n",
  "Cfg/etc/db-only/db-only": "db\n",
  "Rules/pkgs.xml": `<Rules priority="1"><Package name="pkg" type="deb" version="1"/><Group name="db"><Package name="dbpkg" type="deb" version="2"/></Group><Service name="db" type="systemd" status="on"/></Rules>`,
  "Defaults/defaults.xml": `<Defaults priority="1"><Service name=".*" restart="true"/></Defaults>`,
};

describe("server core: a build without the build cache on a watched repository", function () {
  this.timeout(300_000);
  let dir: string;
  let store: Store;
  let core: Core;
  afterEach(async () => {
    await core?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("equals a fresh server right after every kind of repository edit", async () => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-trust-core-"));
    const repo = join(dir, "repo");
    const write = (rel: string, text: string) => {
      mkdirSync(dirname(join(repo, rel)), { recursive: true });
      writeFileSync(join(repo, rel), text);
    };
    for (const [rel, text] of Object.entries(FILES)) write(rel, text);
    store = await openStore(`sqlite:${join(dir, "store.db")}`);
    const settings: ServerSettings = { repo, dataDir: dir, password: "pw", plugins: ["Metadata", "Bundler", "Rules", "Defaults", "Cfg"], defaultAuth: "cert+password", allowedProbeGroups: [] };
    const open = async (options: { buildCache: boolean; watch: boolean }) => {
      const c = new Core(settings, store, silent, instantiatePlugins(settings, store, silent), options);
      await c.init();
      return c;
    };
    core = await open({ buildCache: false, watch: true });
    const fresh = async (client: string) => {
      const c = await open({ buildCache: false, watch: false });
      try {
        return await c.getConfig(client);
      } finally {
        await c.close();
      }
    };
    const changes: Array<[string, () => void]> = [
      ["a plain Cfg file edited to the same size", () => write("Cfg/etc/motd/motd", "welcomE\n")],
      ["a template edited", () => write("Cfg/etc/app.conf/app.conf.jinja2", "host={{ metadata.hostname | upper }}\n")],
      ["a more specific file added", () => write("Cfg/etc/motd/motd.H_web1", "web1\n")],
      ["a file removed", () => unlinkSync(join(repo, "Cfg/etc/motd/motd.H_web1"))],
      ["a new entry directory and the bundle line naming it", () => (write("Cfg/srv/new/file/file", "new\n"), write("Bundler/app.xml", FILES["Bundler/app.xml"]!.replace("<Path", '<Path name="/srv/new/file"/><Path')))],
      ["a Rules file edited inside a Group", () => write("Rules/pkgs.xml", FILES["Rules/pkgs.xml"]!.replace('version="2"', 'version="2.1"'))],
      ["a new Rules file", () => write("Rules/more.xml", `<Rules priority="5"><Package name="pkg" type="deb" version="5"/></Rules>`)],
      ["Defaults edited", () => write("Defaults/defaults.xml", FILES["Defaults/defaults.xml"]!.replace('"true"', '"interactive"'))],
      ["a bundle's Client conditional edited", () => write("Bundler/db.xml", FILES["Bundler/db.xml"]!.replace("db1", "web1"))],
      ["groups.xml: a profile gains a bundle", () => write("Metadata/groups.xml", FILES["Metadata/groups.xml"]!.replace('default="true"><Bundle name="app"/>', 'default="true"><Bundle name="app"/><Bundle name="db"/>'))],
    ];
    for (const [what, change] of changes) {
      for (const c of ["web1", "db1"]) expect(await core.getConfig(c), `${c} before: ${what}`).to.equal(await fresh(c));
      change();
      // No wait: the very next request must see the change.
      for (const c of ["web1", "db1"]) expect(await core.getConfig(c), `${c} after: ${what}`).to.equal(await fresh(c));
    }
  });
});
