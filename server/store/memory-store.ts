// The store of local mode (`vacfg agent --local`, image build and update): what the core keeps
// during one run, in this process's memory, with no database and no native module, so the
// bundled agent can render a repository on an appliance's Node 18. Nothing outlives close():
// the client registration, probe data, records and the run's statistics exist for the run only
// (the agent prints its own summary; no reporting reads a local run).
import type { ClientProbeData, ClientRegistration, CoreStore, RunRecord, StatsEntryKind } from "./store.js";
import { fromJson, toJson } from "./store-rows.js";
import { storeOp } from "./store-error.js";

const RUN_STATES = new Set<RunRecord["state"]>(["clean", "dirty"]);
const ENTRY_KINDS = new Set<StatsEntryKind>(["good", "bad", "modified", "extra"]);

/** Values are kept as JSON text, so a caller's later change of an object never reaches the store (as with SQL). */
export class MemoryStore implements CoreStore {
  readonly kind = "memory" as const;
  private readonly clients = new Map<string, ClientRegistration>();
  private readonly probes = new Map<string, string>();
  private readonly records = new Map<string, string>();
  private readonly runs: string[] = [];
  /** Moves with every change to what client metadata is built from (registrations, probe data), as the SQL engines' counter. */
  private changes = 0;
  private closed = false;

  private op<T>(name: string, fn: () => T): Promise<T> {
    return storeOp("memory", name, () => {
      if (this.closed) throw new Error("the store is closed");
      return fn();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clients.clear();
    this.probes.clear();
    this.records.clear();
    this.runs.length = 0;
  }

  upsertClient(c: ClientRegistration): Promise<void> {
    return this.op("upsertClient", () => {
      const prev = this.clients.get(c.name);
      // As the SQL engines: the first sighting stays, a declaration without a version keeps the known one.
      const version = c.version ?? prev?.version;
      this.clients.set(c.name, { name: c.name, profile: c.profile, firstSeen: prev?.firstSeen ?? c.firstSeen, ...(version !== undefined ? { version } : {}) });
      this.changes++;
    });
  }

  getClient(name: string): Promise<ClientRegistration | undefined> {
    return this.op("getClient", () => {
      const c = this.clients.get(name);
      return c && { ...c };
    });
  }

  listClients(): Promise<ClientRegistration[]> {
    return this.op("listClients", () => [...this.clients.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((c) => ({ ...c })));
  }

  metadataVersion(): Promise<number> {
    return this.op("metadataVersion", () => this.changes);
  }

  metadataVersionNow(): number {
    return this.changes;
  }

  putProbeData(d: ClientProbeData): Promise<void> {
    return this.op("putProbeData", () => {
      this.probes.set(d.client, toJson({ client: d.client, values: d.values, groups: d.groups, timestamp: d.timestamp }, "probe data"));
      this.changes++;
    });
  }

  getProbeData(client: string): Promise<ClientProbeData | undefined> {
    return this.op("getProbeData", () => {
      const text = this.probes.get(client);
      return text === undefined ? undefined : fromJson<ClientProbeData>(text);
    });
  }

  /** Checks the run as the SQL engines' constraints do and holds it until close(); returns its id (1, 2, …). */
  recordRun(run: RunRecord): Promise<number> {
    return this.op("recordRun", () => {
      if (!RUN_STATES.has(run.state)) throw new Error(`run state "${String(run.state)}" is not clean or dirty`);
      for (const e of run.entries) if (!ENTRY_KINDS.has(e.kind)) throw new Error(`entry kind "${String(e.kind)}" is not good, bad, modified or extra`);
      this.runs.push(toJson(run, "run"));
      return this.runs.length;
    });
  }

  put(kind: string, key: string, value: unknown): Promise<void> {
    return this.op("put", () => {
      this.records.set(`${kind}\0${key}`, toJson(value, `${kind}/${key}`));
    });
  }

  get<T>(kind: string, key: string): Promise<T | undefined> {
    return this.op("get", () => {
      const text = this.records.get(`${kind}\0${key}`);
      return text === undefined ? undefined : fromJson<T>(text);
    });
  }
}
