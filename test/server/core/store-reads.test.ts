// Store reads shared within one GetConfig (store-reads.ts): the client's probe data is read once
// per build, not once per plugin, and SSHbase's roster of clients is kept while neither the
// repository nor the store's client data moved. A cold build (build cache off, repository watched,
// as the server builds a client whose inputs changed) must see every one of those inputs changed
// just before it, by this process, another store connection or the raw store: each change is
// followed at once by a build compared with a fresh Core's; then random changes and requests.
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pino } from "pino";
import { Core } from "../../../server/core/core.js";
import type { ServerSettings } from "../../../server/core/context.js";
import { instantiatePlugins } from "../../../server/plugins/registry.js";
import { openStore } from "../../../server/store/open-store.js";
import type { CoreStore, Store } from "../../../server/store/store.js";
import { sharedPostgres } from "../../../harness/postgres-server.js";
import { seededRandom } from "../../support/seeded-random.js";

const PLUGINS = ["Metadata", "Probes", "Context", "Bundler", "Cfg", "SSHbase"];
const CLIENTS = ["web1", "web2"];
// A public key for a client nobody knows yet: it is listed in ssh_known_hosts once the client is.
const WEB9_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl root@web9\n";

const FILES: Record<string, string> = {
  "Metadata/groups.xml": `<Groups><Group name="web" profile="true" public="true" default="true"><Bundle name="app"/></Group><Group name="extra" profile="true" public="true"><Bundle name="app"/></Group></Groups>`,
  "Metadata/clients.xml": `<Clients><Client name="web1" profile="web"/><Client name="web2" profile="web"/></Clients>`,
  "Bundler/app.xml": `<Bundle><Path name="/etc/app.conf"/><Path name="/etc/ssh/ssh_known_hosts"/></Bundle>`,
  "Cfg/etc/app.conf/app.conf.jinja2": "host={{ metadata.hostname }} cpus={{ metadata.Probes['cpus'] }} groups={{ metadata.groups | sort | join(',') }}\n",
  "SSHbase/ssh_host_ed25519_key.pub.H_web9": WEB9_KEY,
  // A key for every member of a group: its line names the clients whose profile puts them in it.
  "SSHbase/ssh_host_ed25519_key.pub.G50_extra": WEB9_KEY.replace("root@web9", "root@extra"),
};

const probe = (name: string, value: string) => `<ProbeData><probe-data name="${name}" source="Probes">${value}</probe-data></ProbeData>`;

/** A store that counts the probe data reads that reach it, and can hold one client's read until released. */
function counting(store: Store): { store: Store; probeReads: () => number; hold: (client: string) => { reached: Promise<void>; release: () => void } } {
  let n = 0;
  let held: { client: string; reached: () => void; gate: Promise<void> } | undefined;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "getProbeData") {
        return async (client: string) => {
          n++;
          const h = held;
          if (h?.client === client) {
            held = undefined;
            h.reached();
            await h.gate;
          }
          return target.getProbeData(client);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return {
    store: wrapped,
    probeReads: () => n,
    hold(client) {
      let reached!: () => void;
      let release!: () => void;
      const r = new Promise<void>((res) => (reached = res));
      held = { client, reached, gate: new Promise<void>((res) => (release = res)) };
      return { reached: r, release };
    },
  };
}

async function newCore(settings: ServerSettings, store: CoreStore, cold: boolean): Promise<Core<CoreStore>> {
  const logger = pino({ level: "silent" });
  const core = new Core<CoreStore>(settings, store, logger, instantiatePlugins(settings, store, logger), cold ? { buildCache: false, watch: true } : { buildCache: false });
  await core.init();
  await core.watching;
  return core;
}

for (const engine of ["sqlite", "postgres"] as const)
describe(`server core: store reads shared within a GetConfig (${engine})`, function () {
  this.timeout(300_000);
  let dir: string;
  let repo: string;
  let url: string;
  let store: Store;
  let other: Store;
  let settings: ServerSettings;
  let cold: Core<CoreStore>;
  let probeReads: () => number;
  let hold: ReturnType<typeof counting>["hold"];
  const write = (rel: string, text: string) => {
    mkdirSync(dirname(join(repo, rel)), { recursive: true });
    writeFileSync(join(repo, rel), text);
  };
  const fresh = async (client: string) => {
    const core = await newCore(settings, store, false);
    try {
      return await core.getConfig(client);
    } finally {
      await core.close();
    }
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-store-reads-"));
    repo = join(dir, "repo");
    for (const [rel, text] of Object.entries(FILES)) write(rel, text);
    url = engine === "sqlite" ? `sqlite:${join(dir, "store.db")}` : await (await sharedPostgres()).createDatabase();
    store = await openStore(url);
    other = await openStore(url);
    settings = { repo, dataDir: dir, password: "pw", plugins: PLUGINS, defaultAuth: "cert+password", allowedProbeGroups: [] };
    const c = counting(store);
    probeReads = c.probeReads;
    hold = c.hold;
    cold = await newCore(settings, c.store, true);
  });
  afterEach(async () => {
    await cold.close();
    await other.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads the client's probe data once per build (Probes and Context share it), and not again while the store's client data stands", async () => {
    await cold.getConfig("web1");
    await cold.recvProbeData("web1", probe("cpus", "4"));
    const before = probeReads();
    expect(await cold.getConfig("web1")).to.contain("cpus=4");
    expect(probeReads() - before, "one read in the build after a write").to.equal(1);
    await cold.getConfig("web1");
    expect(probeReads() - before, "none in the next").to.equal(1);
  });

  it("answers other requests from the store itself while a GetConfig shares its reads (a probe group another process just stored)", async () => {
    write("Probes/extra-check.G50_extra", "#!/bin/sh\necho extra\n");
    await cold.getConfig("web2");
    // web1's GetConfig is held inside its build (its probe data read), web2's data shared at the version it read.
    const held = hold("web1");
    const building = cold.getConfig("web1");
    await held.reached;
    await other.putProbeData({ client: "web2", values: [], groups: ["extra"], timestamp: Date.now() });
    const probes = await cold.getProbes("web2");
    held.release();
    await building;
    expect(probes, "GetProbes sees web2's new probe group").to.contain("extra-check");
  });

  it("sees every input of the shared reads and of SSHbase's roster changed just before a cold build", async () => {
    // What changes, and whose configuration it changes.
    const changes: Array<[string, string, () => Promise<unknown> | void]> = [
      ["probe data through this server", "web1", () => cold.recvProbeData("web1", probe("cpus", "8"))],
      ["a probe group through this server", "web2", () => cold.recvProbeData("web2", probe("role", "group:extra"))],
      ["probe data through another store connection (another server process)", "web1", () => other.putProbeData({ client: "web1", values: [{ name: "cpus", source: "Probes", value: "16" }], groups: ["other"], timestamp: Date.now() })],
      ["probe data written to the same store directly", "web2", () => store.putProbeData({ client: "web2", values: [{ name: "cpus", source: "Probes", value: "2" }], groups: [], timestamp: Date.now() })],
      ["a client registered through another store connection (roster: web9's key now listed)", "web1", () => other.upsertClient({ name: "web9", profile: "web", firstSeen: Date.now() })],
      ["clients.xml gives web2 an alias and an address (roster names)", "web1", () => write("Metadata/clients.xml", FILES["Metadata/clients.xml"].replace('<Client name="web2" profile="web"/>', '<Client name="web2" profile="web" address="10.0.0.2"><Alias name="web2.lab"/></Client>'))],
      ["clients.xml puts web2 in the group of a key file (roster members)", "web1", () => write("Metadata/clients.xml", FILES["Metadata/clients.xml"].replace('<Client name="web2" profile="web"/>', '<Client name="web2" profile="extra" address="10.0.0.2"><Alias name="web2.lab"/></Client>'))],
      ["a key file for web9 edited (repository)", "web2", () => write("SSHbase/ssh_host_ed25519_key.pub.H_web9", WEB9_KEY.replace("root@web9", "admin@web9"))],
      ["web9's registration deleted (roster)", "web1", () => store.deleteClient("web9")],
    ];
    for (const [what, changed, change] of changes) {
      for (const c of CLIENTS) expect(await cold.getConfig(c), `${c} before: ${what}`).to.equal(await fresh(c));
      const before = await cold.getConfig(changed);
      await change();
      // No wait: the very next build must see the change.
      for (const c of CLIENTS) expect(await cold.getConfig(c), `${c} after: ${what}`).to.equal(await fresh(c));
      expect(await cold.getConfig(changed), `${changed}'s configuration changed: ${what}`).to.not.equal(before);
    }
    expect(await cold.getConfig("web1")).to.not.contain("web9");
  });

  it("stays equal to fresh builds through 400 random store and repository changes and requests", async () => {
    const { rnd, pick } = seededRandom(0x51ed);
    const clients = [...CLIENTS, "web9"];
    const edits: Array<() => Promise<unknown> | void> = [
      () => cold.recvProbeData(pick(clients), probe("cpus", String(Math.floor(rnd() * 64)))),
      () => pick([store, other]).putProbeData({ client: pick(clients), values: [{ name: "cpus", source: "Probes", value: String(Math.floor(rnd() * 64)) }], groups: rnd() < 0.5 ? ["extra"] : [], timestamp: Date.now() }),
      () => pick([store, other]).upsertClient({ name: pick(["web8", "web9"]), profile: "web", firstSeen: Date.now() }),
      () => write("Metadata/clients.xml", `<Clients>${CLIENTS.map((c) => `<Client name="${c}" profile="web"${rnd() < 0.5 ? ` address="10.0.0.${Math.floor(rnd() * 9)}"` : ""}/>`).join("")}</Clients>`),
    ];
    for (let i = 0; i < 400; i++) {
      if (rnd() < 0.6) {
        const c = pick(clients);
        expect(await cold.getConfig(c), `step ${i}: ${c}`).to.equal(await fresh(c));
      } else await pick(edits)();
    }
  });
});
