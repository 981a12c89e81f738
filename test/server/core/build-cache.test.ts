// The build cache: a finished configuration is reused only while nothing it was built from
// changed. Every kind of input is changed in turn (repository files, client metadata, probe
// data, parameters, another server process's writes, other clients), each change immediately
// followed by a GetConfig that must equal a fresh build; then thousands of random edits and
// requests against an uncached Core on the same repository and store. Both store engines: an
// unchanged client is answered without building its metadata while the store's metadata version
// stands, so every write to the store (here or by another process) must move it.
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { pino } from "pino";
import { initSite } from "../../../server/admin/init.js";
import { Core } from "../../../server/core/core.js";
import type { ServerSettings } from "../../../server/core/context.js";
import { instantiatePlugins } from "../../../server/plugins/registry.js";
import { openStore } from "../../../server/store/open-store.js";
import type { Store } from "../../../server/store/store.js";
import { sharedPostgres } from "../../../harness/postgres-server.js";
import { xmlrpc } from "../../../harness/report-site.js";
import { spawnServer } from "../../../harness/server-process.js";

const PLUGINS = ["Metadata", "Probes", "Context", "Bundler", "Rules", "Defaults", "Properties", "Cfg"];
const CLIENTS = ["web1", "web2", "db1"];

const FILES: Record<string, string> = {
  "Metadata/groups.xml": `<Groups>
  <Group name="web" profile="true" public="true" default="true"><Bundle name="app"/></Group>
  <Group name="db" profile="true" public="true"><Bundle name="app"/><Bundle name="db"/></Group>
  <Group name="big"><Bundle name="big"/></Group>
</Groups>`,
  "Metadata/clients.xml": `<Clients>
  <Client name="web1" profile="web"/>
  <Client name="web2" profile="web"/>
  <Client name="db1" profile="db"/>
</Clients>`,
  "Bundler/app.xml": `<Bundle><Path name="/etc/motd"/><Path name="/etc/app.conf"/><Path name="/etc/info-file"/><Package name="pkg"/><Group name="db"><Path name="/etc/db-only"/></Group></Bundle>`,
  "Bundler/db.xml": `<Bundle><Package name="dbpkg"/></Bundle>`,
  "Bundler/big.xml": `<Bundle><Path name="/etc/big"/></Bundle>`,
  "Cfg/etc/motd/motd": "welcome\n",
  "Cfg/etc/app.conf/app.conf.jinja2": "host={{ metadata.hostname }} cpus={{ metadata.Probes['cpus'] }} dns={{ params.DNSServer }}\n",
  "Cfg/etc/info-file/info-file": "info\n",
  "Cfg/etc/info-file/info.xml": `<FileInfo><Info mode="0600"/></FileInfo>`,
  "Cfg/etc/db-only/db-only": "db\n",
  "Cfg/etc/big/big": "big\n",
  "Rules/pkgs.xml": `<Rules priority="1"><Package name="pkg" type="deb" version="1"/><Package name="dbpkg" type="deb" version="2"/></Rules>`,
};

interface Site {
  dir: string;
  repo: string;
  /** vacfg.conf of the site (TLS material for a server process on the same repository). */
  configPath: string;
  ca: string;
  storeUrl: string;
  store: Store;
  settings: ServerSettings;
  cached: Core;
  write(rel: string, text: string): void;
  /** A Core without build cache, new for each call: what a fresh server would send. */
  fresh(client: string): Promise<string>;
  close(): Promise<void>;
}

async function newCore(settings: ServerSettings, store: Store, buildCache: boolean, buildCacheBytes?: number): Promise<Core> {
  const logger = pino({ level: "silent" });
  const core = new Core(settings, store, logger, instantiatePlugins(settings, store, logger), { buildCache, ...(buildCacheBytes ? { buildCacheBytes } : {}) });
  await core.init();
  return core;
}

type Engine = "sqlite" | "postgres";
const ENGINES: Engine[] = ["sqlite", "postgres"];

async function site(engine: Engine = "sqlite", files = FILES): Promise<Site> {
  const dir = mkdtempSync(join(tmpdir(), "vacfg-build-cache-"));
  const { configPath } = initSite(dir, { hostname: "localhost" });
  const repo = join(dir, "repo");
  rmSync(repo, { recursive: true, force: true });
  const write = (rel: string, text: string) => {
    mkdirSync(dirname(join(repo, rel)), { recursive: true });
    writeFileSync(join(repo, rel), text);
  };
  for (const [rel, text] of Object.entries(files)) write(rel, text);
  const storeUrl = engine === "sqlite" ? `sqlite:${join(dir, "store.db")}` : await (await sharedPostgres()).createDatabase();
  const store = await openStore(storeUrl);
  const settings: ServerSettings = { repo, dataDir: dir, password: "pw", plugins: PLUGINS, defaultAuth: "cert+password", allowedProbeGroups: [] };
  const cached = await newCore(settings, store, true);
  return {
    dir,
    repo,
    configPath,
    ca: readFileSync(join(dir, "tls", "ca.crt"), "utf8"),
    storeUrl,
    store,
    settings,
    cached,
    write,
    async fresh(client) {
      const core = await newCore(settings, store, false);
      try {
        return await core.getConfig(client);
      } finally {
        await core.close();
      }
    },
    async close() {
      await cached.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

setFlagsFromString("--expose-gc");
// Functions not run for a few collections lose their bytecode: heap freed that the test would count.
setFlagsFromString("--no-flush-bytecode");
const gc = runInNewContext("gc") as () => void;
/** Bytes used in the heap once everything unreachable is collected. */
function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

const probe = (name: string, value: string) => `<ProbeData><probe-data name="${name}" source="Probes">${value}</probe-data></ProbeData>`;

describe("server core: build cache", function () {
  this.timeout(300_000);
  let s: Site;
  afterEach(async () => s?.close());

  for (const engine of ENGINES)
  it(`answers an unchanged client from the cache, and after every kind of change exactly as a fresh build (${engine})`, async () => {
    s = await site(engine);
    const otherStore = await openStore(s.storeUrl);
    const other = await newCore(s.settings, otherStore, true);
    // Another server process on the same repository and store, reached as clients reach it.
    const proc = await spawnServer(s.configPath, s.storeUrl, { env: { VACFG_SITE_PASSWORD: "pw" }, logFile: join(s.dir, "other-process.log") });
    const viaProcess = (client: string, method: string, params: string[]) => xmlrpc(proc.url, s.ca, client, "pw", method, params);
    const changes: Array<[string, () => Promise<unknown> | void]> = [
      ["a plain Cfg file edited", () => s.write("Cfg/etc/motd/motd", "welcome, version 2\n")],
      ["the same file edited to the same size", () => s.write("Cfg/etc/motd/motd", "welcome, version 3\n")],
      ["a template edited", () => s.write("Cfg/etc/app.conf/app.conf.jinja2", "host={{ metadata.hostname | upper }}\n")],
      ["info.xml edited", () => s.write("Cfg/etc/info-file/info.xml", `<FileInfo><Info mode="0640" owner="nobody"/></FileInfo>`)],
      ["a more specific file added (.G50_db, .H_web1)", () => (s.write("Cfg/etc/motd/motd.G50_db", "db motd\n"), s.write("Cfg/etc/motd/motd.H_web1", "web1 motd\n"))],
      ["a file removed", () => unlinkSync(join(s.repo, "Cfg/etc/motd/motd.H_web1"))],
      ["a new entry directory and the bundle line naming it", () => (s.write("Cfg/srv/new/deep/file/file", "new\n"), s.write("Bundler/app.xml", FILES["Bundler/app.xml"].replace("<Path", '<Path name="/srv/new/deep/file"/><Path')))],
      ["a Rules file edited", () => s.write("Rules/pkgs.xml", FILES["Rules/pkgs.xml"].replace('version="1"', 'version="1.1"'))],
      ["a new Rules file", () => s.write("Rules/more.xml", `<Rules priority="5"><Package name="pkg" type="deb" version="5"/></Rules>`)],
      ["groups.xml: a profile gains a bundle", () => s.write("Metadata/groups.xml", FILES["Metadata/groups.xml"].replace('<Bundle name="app"/></Group>', '<Bundle name="app"/><Bundle name="big"/></Group>'))],
      ["clients.xml: a client changes profile", () => s.write("Metadata/clients.xml", FILES["Metadata/clients.xml"].replace('"web2" profile="web"', '"web2" profile="db"'))],
      ["probe data a template reads", () => s.cached.recvProbeData("web1", probe("cpus", "8"))],
      ["a probe group", () => s.cached.recvProbeData("db1", probe("role", "group:big"))],
      ["parameters (the vacfg-context probe)", () => s.cached.recvProbeData("web1", probe("vacfg-context", '{"DNSServer":"10.0.0.53"}'))],
      ["probe data sent through another server process", () => other.recvProbeData("web1", probe("cpus", "16"))],
      ["probe data uploaded to another server process (RecvProbeData over HTTPS)", () => viaProcess("web2", "RecvProbeData", [probe("cpus", "32")])],
      ["a probe group uploaded to another server process", () => viaProcess("web2", "RecvProbeData", [probe("role", "group:big")])],
      ["a profile asserted through another server process", () => viaProcess("db1", "AssertProfile", ["web"])],
      ["an asserted profile", () => s.cached.assertProfile("web1", "db")],
      ["a Properties file (template data) appears", () => s.write("Properties/site.xml", `<Properties><Site name="x"/></Properties>`)],
    ];
    try {
      for (const [what, change] of changes) {
        for (const c of CLIENTS) await s.cached.getConfig(c);
        const { hits, metadataSkipped } = s.cached.buildCache!;
        for (const c of CLIENTS) expect(await s.cached.getConfig(c), `${c} before: ${what}`).to.equal(await s.fresh(c));
        expect(s.cached.buildCache!.hits, `served from the cache before: ${what}`).to.be.at.least(hits + CLIENTS.length);
        expect(s.cached.buildCache!.metadataSkipped, `without building metadata before: ${what}`).to.be.at.least(metadataSkipped + CLIENTS.length);
        await change();
        // No wait: the very next request must see the change.
        for (const c of CLIENTS) expect(await s.cached.getConfig(c), `${c} after: ${what}`).to.equal(await s.fresh(c));
      }
    } finally {
      await proc.stop();
      await other.close();
      await otherStore.close();
    }
  });

  it("builds a client's metadata again after any store write, and reuses the answer when the metadata came out the same", async () => {
    s = await site();
    for (const c of CLIENTS) await s.cached.getConfig(c);
    const cache = s.cached.buildCache!;
    const before = { ...cache };
    await s.cached.getConfig("web1");
    expect([cache.hits, cache.metadataSkipped, cache.misses]).to.deep.equal([before.hits + 1, before.metadataSkipped + 1, before.misses]);
    // Another client's probe data moves the store's version: web1's metadata is built, found equal, the answer reused.
    await s.cached.recvProbeData("db1", probe("cpus", "4"));
    await s.cached.getConfig("web1");
    expect([cache.hits, cache.metadataSkipped, cache.misses]).to.deep.equal([before.hits + 2, before.metadataSkipped + 1, before.misses]);
    // Vouched for at the new version: skipped again.
    await s.cached.getConfig("web1");
    expect([cache.hits, cache.metadataSkipped, cache.misses]).to.deep.equal([before.hits + 3, before.metadataSkipped + 2, before.misses]);
    // Its own probe data: a new build.
    await s.cached.recvProbeData("web1", probe("cpus", "4"));
    expect(await s.cached.getConfig("web1")).to.equal(await s.fresh("web1"));
    expect(cache.misses).to.equal(before.misses + 1);
  });

  it("stays within its byte bound, bookkeeping counted, evicting the least recently used client first", async () => {
    s = await site();
    await s.cached.close();
    const bound = 64 * 1024;
    s.cached = await newCore(s.settings, s.store, true, bound);
    await s.cached.watching;
    const cache = s.cached.buildCache!;
    const names = Array.from({ length: 300 }, (_, i) => `many${i}`);
    // Registered first: each registration rewrites clients.xml, a repository file, which outdates every build.
    for (const c of names) await s.cached.declareVersion(c, "1.4.0");
    for (const c of names) await s.cached.getConfig(c);
    const { entries, bytes } = cache.size;
    expect(bytes, "estimated bytes").to.be.at.most(bound);
    expect(entries, "some kept, not all").to.be.within(10, 299);
    expect(bytes, "each entry counts its bookkeeping, not only its strings").to.be.at.least(entries * 256);
    // many0 was evicted long ago; the last one is kept, and asking for it makes it the most recent.
    const misses = cache.misses;
    const hits = cache.hits;
    await s.cached.getConfig(names.at(-1)!);
    expect(cache.hits - hits).to.equal(1);
    await s.cached.getConfig("many0");
    expect(cache.misses - misses).to.equal(1);
    expect(cache.size.bytes).to.be.at.most(bound);
  });

  it("counts at least the heap its entries really hold (answer, fingerprint, metadata with probe data, inputs)", async () => {
    s = await site();
    await s.cached.watching;
    const cache = s.cached.buildCache!;
    const names = Array.from({ length: 1000 }, (_, i) => `held${i}`);
    for (const c of names) {
      await s.cached.declareVersion(c, "1.4.0");
      await s.cached.recvProbeData(c, `<ProbeData><probe-data name="cpus" source="Probes">${c.length}</probe-data><probe-data name="role" source="Probes">group:big\nrole of ${c}</probe-data></ProbeData>`);
    }
    for (const c of names) await s.cached.getConfig(c);
    const { entries, bytes } = cache.size;
    expect(entries, "every client kept").to.equal(names.length);
    // What clearing the cache frees is what it held: no more than it counted, and not far less
    // (a bound many times the real size would keep memory it was meant to free).
    const heldBytes = heapAfterGc();
    cache.clear();
    const freed = heldBytes - heapAfterGc();
    expect(freed, `freed ${freed} bytes, counted ${bytes}`).to.be.at.most(bytes);
    expect(freed, `freed ${freed} bytes, counted ${bytes}`).to.be.at.least(bytes / 2);
  });

  it("checks the files themselves when change notification is off (a symbolic link in the repository)", async () => {
    s = await site();
    symlinkSync(join(s.repo, "Cfg/etc/motd"), join(s.repo, "Cfg/etc/motd-link"));
    await s.cached.close();
    s.cached = await newCore(s.settings, s.store, true);
    expect(await s.cached.getConfig("web1")).to.equal(await s.fresh("web1"));
    s.write("Cfg/etc/motd/motd", "edited behind a link\n");
    expect(await s.cached.getConfig("web1")).to.contain("edited behind a link");
    expect(s.cached.buildCache!.hits).to.equal(0);
  });

  for (const engine of ENGINES)
  it(`stays equal to an uncached server through 3,000 random edits and requests (${engine})`, async () => {
    s = await site(engine);
    s.write("Cfg/srv/x1/x1", "x1\n");
    s.write("Cfg/srv/x2/x2.jinja2", "{{ metadata.hostname }}\n");
    const reference = await newCore(s.settings, s.store, false);
    // mulberry32: a fixed seed, so a failure replays.
    let seed = 0x5eed;
    const rnd = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    const words = ["a", "bb", "ccc", "dddd", "{{ metadata.hostname }}", "{{ metadata.Probes['cpus'] }}", "{{ params.DNSServer }}"];
    const text = () => Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(words)).join(" ") + "\n";
    const entries = ["/etc/motd", "/etc/app.conf", "/etc/info-file", "/etc/db-only", "/etc/big", "/srv/x1", "/srv/x2"];
    const bundle = () => `<Bundle>${entries.filter(() => rnd() < 0.7).map((n) => `<Path name="${n}"/>`).join("")}<Package name="pkg"/></Bundle>`;
    const cfgFile = (entry: string, suffix: string) => `Cfg${entry}/${entry.slice(entry.lastIndexOf("/") + 1)}${suffix}`;
    const edits: Array<() => Promise<unknown> | void> = [
      () => {
        // A plain file and a template of the same specificity conflict: one replaces the other.
        const [entry, kind] = [pick(entries), pick(["", ".jinja2"])];
        s.write(cfgFile(entry, kind), text());
        rmSync(join(s.repo, cfgFile(entry, kind ? "" : ".jinja2")), { force: true });
      },
      () => s.write(cfgFile(pick(entries), pick([".G50_db", ".G10_web", ".G20_big", ".H_web1", ".H_db1"])), text()),
      () => rmSync(join(s.repo, cfgFile(pick(entries), pick([".G50_db", ".G10_web", ".H_web1"]))), { force: true }),
      () => s.write(`Cfg${pick(entries)}/info.xml`, `<FileInfo><Info mode="${pick(["0600", "0644", "0640"])}" owner="${pick(["root", "nobody"])}"/></FileInfo>`),
      () => {
        // A whole entry goes, and (most times) comes back at once as a new directory.
        const entry = pick(entries);
        rmSync(join(s.repo, `Cfg${entry}`), { recursive: true, force: true });
        if (rnd() < 0.8) s.write(cfgFile(entry, ""), text());
      },
      () => s.write(`Bundler/${pick(["app", "big"])}.xml`, bundle()),
      () => s.write("Rules/pkgs.xml", FILES["Rules/pkgs.xml"].replace('version="1"', `version="${Math.floor(rnd() * 100)}"`)),
      () => s.write("Metadata/clients.xml", `<Clients>${CLIENTS.map((c) => `<Client name="${c}" profile="${pick(["web", "db"])}"/>`).join("")}</Clients>`),
      () => pick([s.cached, reference]).recvProbeData(pick(CLIENTS), probe("cpus", String(Math.floor(rnd() * 64)))),
      () => pick([s.cached, reference]).recvProbeData(pick(CLIENTS), probe("role", pick(["group:big", "none"]))),
      () => s.cached.recvProbeData(pick(CLIENTS), probe("vacfg-context", JSON.stringify({ DNSServer: pick(["10.0.0.1", "10.0.0.2"]) }))),
    ];
    let requests = 0;
    for (let i = 0; i < 3000; i++) {
      if (rnd() < 0.8) {
        const c = pick(CLIENTS);
        requests++;
        const body = await s.cached.getConfig(c);
        expect(body, `step ${i}: ${c}`).to.equal(await reference.getConfig(c));
      } else {
        await pick(edits)();
      }
    }
    await reference.close();
    expect(requests).to.be.above(2000);
    expect(s.cached.buildCache!.hits, "some requests were answered from the cache").to.be.above(200);
  });
});
