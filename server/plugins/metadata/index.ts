// The Metadata plugin: groups.xml + clients.xml (cached by stat signature), the store's client
// registrations (shared by several server processes), AssertProfile/DeclareVersion write-back.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { VacfgError } from "../../../protocol/errors.js";
import type { XmlRpcValue } from "../../../protocol/xmlrpc/values.js";
import { FileCache } from "../../core/file-cache.js";
import { failureBundle, repoRelativeMessage } from "../../core/structure-failure.js";
import type { XmlElement } from "../../../protocol/xml.js";
import type { PluginContext, PluginFactory } from "../../core/context.js";
import type { AuthDecision, AuthRequest, ClientMetadata } from "../../core/metadata.js";
import type { AnyPlugin, MetadataRole, RmiRole, StructureRole } from "../../core/roles.js";
import type { ClientRegistration } from "../../store/store.js";
import { canonicalClientName, checkClientName, isValidClientName, quoteName } from "../../core/client-name.js";
import { applyClientsEdit, emptyClients, parseClientsXml, type ClientsModel } from "./clients-file.js";
import { clientExistsInText, editClientsXml, type ClientsCommitHook } from "./clients-writer.js";
import { parseGroupsXml, type GroupsModel } from "./groups-file.js";
import { authenticate, authenticateNow, OUTSIDE, type AuthReads } from "./identity.js";
import { includingParser } from "../shared/xinclude.js";
import { addGroup, bundlesOf, firstProfile, mergeGroups, type GroupState } from "./resolve-groups.js";

const CERT_SEEN = "bootstrap-cert-seen";
/** Store records (key: address) counting the new clients an address registered in the current hour. */
const REGISTRATION_RATE = "registration-rate";
export const DEFAULT_REGISTRATIONS_PER_HOUR = 30;

export class MetadataPlugin implements AnyPlugin, MetadataRole, RmiRole, StructureRole {
  readonly name = "Metadata";
  private readonly groupsCache: FileCache<GroupsModel>;
  private readonly clientsCache: FileCache<ClientsModel>;
  readonly groupsPath: string;
  readonly clientsPath: string;
  readonly rmi: RmiRole["rmi"];

  constructor(private readonly ctx: PluginContext) {
    this.groupsPath = join(ctx.settings.repo, "Metadata", "groups.xml");
    this.clientsPath = join(ctx.settings.repo, "Metadata", "clients.xml");
    // Both files may XInclude others (upstream XMLMetadataConfig); an edit of one is seen on the next get.
    const repo = ctx.settings.repo;
    this.groupsCache = new FileCache((text, path, deps) => parseGroupsXml(text, path, includingParser(repo, deps)));
    this.clientsCache = new FileCache((text, path, deps) => parseClientsXml(text, path, includingParser(repo, deps)));
    this.rmi = {
      list_clients: {
        help: "List all clients known to the server (clients.xml and the store).",
        call: async () => (await this.listClients()) as XmlRpcValue,
      },
    };
  }

  /** groups.xml, parsed; a broken file throws REPO_FILE naming file:line. */
  groups(): GroupsModel {
    const g = this.groupsCache.get(this.groupsPath);
    if (!g) throw new VacfgError("REPO_FILE", `${this.groupsPath}: file does not exist (a repository needs Metadata/groups.xml)`);
    return g;
  }

  /** Our own writes update the parsed clients.xml instead of having it re-parsed (O(clients) each). */
  private readonly onClientsCommit: ClientsCommitHook = (before, after, applied) => {
    this.clientsRevision++;
    this.clientsCache.advance(this.clientsPath, before, after, (m) => applied.every((e) => applyClientsEdit(m, e)));
  };
  /** Moves on every edit this process makes to clients.xml (which may update the parsed model in place). */
  private clientsRevision = 0;

  /** The last clients.xml that parsed, so that an edit that breaks the file does not lock every client out. */
  private lastGoodClients?: ClientsModel;
  /** Why the current clients.xml is refused (while the last good one is served), repository-relative. */
  private clientsRefusal?: string;

  /**
   * clients.xml, parsed. A broken entry is left out and logged with file:line (clients-file.ts); a
   * file that does not parse at all (bad XML, a client listed twice) is refused: the last one that
   * did is served and every configuration carries the refusal (buildStructures). Throws only when
   * no version of the file has parsed since the server started.
   */
  clients(): ClientsModel {
    let m: ClientsModel;
    try {
      m = this.clientsCache.get(this.clientsPath) ?? emptyClients();
    } catch (e) {
      if (!this.lastGoodClients) throw e;
      const reason = `${repoRelativeMessage((e as Error).message, this.ctx.settings.repo)}; the server keeps serving the last good clients.xml`;
      if (reason !== this.clientsRefusal) this.ctx.logger.error({ file: this.clientsPath, err: reason }, "clients.xml refused; serving its last good version");
      this.clientsRefusal = reason;
      return this.lastGoodClients;
    }
    this.clientsRefusal = undefined;
    if (m !== this.lastGoodClients) {
      for (const problem of m.problems) this.ctx.logger.error({ file: this.clientsPath }, problem);
      this.lastGoodClients = m;
    }
    return m;
  }

  /** Start-up: a repository whose Metadata cannot be loaded is refused before anything is served. */
  async init(): Promise<void> {
    for (const load of [() => this.groups(), () => this.clients()]) {
      try {
        load();
      } catch (e) {
        throw new VacfgError("REPO_MISSING", `repository ${this.ctx.settings.repo}: ${repoRelativeMessage((e as Error).message, this.ctx.settings.repo)}`, { cause: e });
      }
    }
  }

  /** A refused clients.xml edit reaches every client as a failure entry, so no run counts as clean meanwhile. */
  buildStructures(): XmlElement[] {
    this.clients();
    return this.clientsRefusal === undefined ? [] : [failureBundle("Metadata", this.clientsRefusal, "Metadata/clients.xml")];
  }

  /**
   * A decision made from clients.xml and the settings alone says how long it holds: while the same
   * parsed clients.xml is current (no edit on disk or by this process) and the site password and
   * default auth mode are the same. One that read the store or DNS is made again on every request.
   */
  async authenticate(req: AuthRequest): Promise<AuthDecision | undefined> {
    const revision = this.clientsRevision;
    let clients: ClientsModel;
    try {
      clients = this.clients();
    } catch (e) {
      this.ctx.logger.error({ err: (e as Error).message }, "clients.xml unreadable; refusing authentication");
      return undefined;
    }
    const store = this.ctx.store;
    const { password: sitePassword, defaultAuth } = this.ctx.settings;
    const reads: AuthReads = { outside: false };
    const name = await authenticate(
      clients,
      req,
      {
        sitePassword,
        defaultAuth,
        certSeen: async (c) => (await store.get(CERT_SEEN, c)) !== undefined,
        recordCert: async (c) => {
          if ((await store.get(CERT_SEEN, c)) === undefined) await store.put(CERT_SEEN, c, { at: Date.now() });
        },
      },
      reads,
    );
    if (name === undefined || !(await this.admitNewClient(name, req.address, clients, reads))) return undefined;
    if (reads.outside) return { client: name };
    return { client: name, holds: this.holding(revision, clients, sitePassword, defaultAuth) };
  }

  /**
   * A success `authenticate` would give, decided without a wait from clients.xml and the settings
   * alone, for a client clients.xml lists; undefined for anything else (a refusal, a new client,
   * bootstrap mode, an address only reverse DNS can name), which `authenticate` decides.
   */
  authenticateNow(req: AuthRequest): AuthDecision | undefined {
    const revision = this.clientsRevision;
    let clients: ClientsModel;
    try {
      clients = this.clients();
    } catch {
      return undefined;
    }
    const { password: sitePassword, defaultAuth } = this.ctx.settings;
    const name = authenticateNow(clients, req, sitePassword, defaultAuth);
    if (name === undefined || name === OUTSIDE || !(clients.known.has(name) || clients.aliases.has(name))) return undefined;
    return { client: name, holds: this.holding(revision, clients, sitePassword, defaultAuth) };
  }

  /** While a decision from these inputs holds: the same parsed clients.xml (no edit on disk or here), the same site password and default auth mode. */
  private holding(revision: number, clients: ClientsModel, sitePassword: string, defaultAuth: string): () => boolean {
    return () => {
      try {
        return this.clientsRevision === revision && this.clients() === clients && this.ctx.settings.password === sitePassword && this.ctx.settings.defaultAuth === defaultAuth;
      } catch {
        return false;
      }
    };
  }

  /**
   * Self-registration is bounded: a name neither clients.xml nor the store knows is a new client,
   * refused when registration is off, and limited per address and hour (a count kept in the store,
   * so every server process shares it). A refusal is a 401 and writes nothing.
   */
  private async admitNewClient(name: string, address: string, clients: ClientsModel, reads: AuthReads): Promise<boolean> {
    if (clients.known.has(name) || clients.aliases.has(name)) return true;
    reads.outside = true;
    if ((await this.ctx.store.getClient(name)) !== undefined) return true;
    const { registration = true, registrationsPerHour = DEFAULT_REGISTRATIONS_PER_HOUR } = this.ctx.settings;
    if (!registration) {
      this.ctx.logger.warn({ client: name, address }, "unknown client refused: registration is off ([metadata] registration)");
      return false;
    }
    // The loopback address is the server's own machine (where admin methods come from): not limited.
    if (registrationsPerHour === 0 || address === "127.0.0.1" || address === "::1") return true;
    const now = Date.now();
    const seen = await this.ctx.store.get<{ since: number; count: number }>(REGISTRATION_RATE, address);
    const window = seen && now - seen.since < 3_600_000 ? seen : { since: now, count: 0 };
    if (window.count >= registrationsPerHour) {
      this.ctx.logger.warn({ client: name, address, limit: registrationsPerHour }, "unknown client refused: this address registered its limit of new clients this hour");
      return false;
    }
    await this.ctx.store.put(REGISTRATION_RATE, address, { since: window.since, count: window.count + 1 });
    return true;
  }

  /**
   * Writes a new client to the store and clients.xml (upstream's add_client). A client first seen
   * in DeclareVersion is written with its version at once: the same file as upstream's two writes.
   */
  private async register(client: string, profile: string, version?: string): Promise<void> {
    client = checkClientName(client);
    if (this.clients().blocked.has(client)) throw new VacfgError("METADATA", `client ${client} has an entry in clients.xml that is ignored (see the log); it is not registered again`);
    this.ctx.logger.info({ client, profile }, "registering new client");
    // Both writes at once: each waits for its own fsync, and a client's first run waited for the two
    // in turn (bench/scale: most of DeclareVersion's time). Either one alone is a registered client:
    // the store's registration is read by every server process, clients.xml's entry by every reader.
    const listed = editClientsXml(this.clientsPath, { op: "insert", name: client, attrs: [["profile", profile], ...(version !== undefined ? [["version", version] as [string, string]] : [])] }, this.onClientsCommit).catch((e: unknown) => {
      // A read-only or broken clients.xml must not fail the client's run: the store holds it.
      this.ctx.logger.error({ client, file: this.clientsPath, err: (e as Error).message }, "could not add client to clients.xml");
    });
    try {
      await this.ctx.store.upsertClient({ name: client, profile, firstSeen: Date.now(), ...(version !== undefined ? { version } : {}) });
    } finally {
      await listed;
    }
  }

  /**
   * Upstream's get_initial_metadata, registering unknown clients with the default profile.
   * `settled`: the groups are at mergeGroups' fixpoint. `withBundles` false: meta.bundles left
   * empty, for a caller that sets them itself (buildMetadata, once its groups are final).
   */
  private async initial(name: string, newVersion?: string, withBundles = true): Promise<{ meta: ClientMetadata; st: GroupState; model: GroupsModel; settled: boolean }> {
    const model = this.groups();
    const c = this.clients();
    let client = checkClientName(name);
    client = c.aliases.get(client) ?? client;
    const st: GroupState = { groups: new Set(), categories: new Map() };
    const listed = c.profiles.get(client);
    let clientGroups = listed === undefined ? [] : [listed];
    let stored: ClientRegistration | undefined;
    if (!c.known.has(client)) {
      stored = await this.ctx.store.getClient(client);
      if (stored) {
        clientGroups = [stored.profile];
      } else {
        const pgroup = clientGroups[0] ?? model.defaultGroup;
        if (!pgroup) throw new VacfgError("METADATA", `Cannot add new client ${client}; no default group set`);
        // Inspection shows what the client would get on its first run, without registering it.
        if (!this.ctx.settings.readOnly) await this.register(client, pgroup, newVersion);
        if (newVersion !== undefined) stored = { name: client, profile: pgroup, firstSeen: Date.now(), version: newVersion };
        addGroup(model, st, pgroup);
        clientGroups = [pgroup];
      }
    }
    for (const g of clientGroups) if (!st.groups.has(g)) addGroup(model, st, g);
    let settled = mergeGroups(model, client, st);
    if (st.groups.size === 0 && model.defaultGroup) {
      addGroup(model, st, model.defaultGroup);
      settled = mergeGroups(model, client, st);
    }
    const uuid = c.ruuid.get(client);
    const meta: ClientMetadata = {
      hostname: client,
      profile: st.profile ?? firstProfile(model, st.groups) ?? "",
      groups: st.groups,
      bundles: withBundles ? bundlesOf(model, st.groups) : new Set(),
      aliases: new Set(c.raliases.get(client) ?? []),
      addresses: new Set(c.raddresses.get(client) ?? []),
      categories: st.categories,
      connectors: {},
    };
    if (uuid !== undefined) meta.uuid = uuid;
    const password = c.passwords.get(client);
    if (password !== undefined) meta.password = password;
    const version = c.versions.get(client) ?? stored?.version;
    if (version !== undefined) meta.version = version;
    st.profile = meta.profile || undefined;
    return { meta, st, model, settled };
  }

  async buildMetadata(client: string, additionalGroups: Iterable<string>): Promise<ClientMetadata> {
    const { meta, st, model, settled } = await this.initial(client, undefined, false);
    // Upstream's merge_additional_groups (connector groups such as probe groups).
    const extra = [...additionalGroups];
    let added = false;
    for (const g of extra) {
      if (st.groups.has(g)) continue;
      addGroup(model, st, g, false);
      added = true;
    }
    // Upstream merges again; on groups at the fixpoint with nothing added that pass changes nothing.
    if (added || !settled) mergeGroups(model, meta.hostname, st);
    meta.bundles = bundlesOf(model, st.groups);
    if (!meta.profile) meta.profile = firstProfile(model, extra) ?? model.defaultGroup ?? "";
    return meta;
  }

  async setProfile(client: string, profile: string): Promise<void> {
    const model = this.groups();
    const decl = model.groups.get(profile);
    if (!decl) throw new VacfgError("PROFILE", `Profile group ${profile} does not exist`);
    if (!decl.isPublic) throw new VacfgError("PROFILE", `Cannot set client ${client} to private group ${profile}`);
    const lc = checkClientName(client);
    const c = this.clients();
    const known = c.known.has(lc) || c.aliases.has(lc) || (await this.ctx.store.getClient(lc)) !== undefined;
    if (!known) {
      await this.register(lc, profile);
      return;
    }
    const { meta } = await this.initial(lc);
    if (meta.profile === profile) return;
    if (c.known.has(meta.hostname) && !this.inClientsXmlItself(meta.hostname)) {
      // Upstream edits the included file; we change only clients.xml, and a second <Client> there would be ambiguous.
      throw new VacfgError("METADATA", `${this.clientsPath}: client ${meta.hostname} is defined in a file that clients.xml includes; vacfg changes only clients.xml itself, so set its profile in that file`);
    }
    this.ctx.logger.info({ client: lc, from: meta.profile, to: profile }, "changing client profile");
    const prev = await this.ctx.store.getClient(meta.hostname);
    await this.ctx.store.upsertClient({ name: meta.hostname, profile, firstSeen: prev?.firstSeen ?? Date.now(), ...(meta.version ? { version: meta.version } : {}) });
    await editClientsXml(this.clientsPath, { op: "set", name: meta.hostname, attr: "profile", value: profile, absent: [["profile", profile]] }, this.onClientsCommit);
  }

  private inClientsXmlItself(client: string): boolean {
    try {
      return clientExistsInText(readFileSync(this.clientsPath, "utf8"), client);
    } catch {
      return false;
    }
  }

  async setVersion(client: string, version: string): Promise<void> {
    // Building metadata registers an unknown client, as upstream's set_version does.
    const { meta } = await this.initial(client, version);
    if (meta.version === version) return;
    const prev = await this.ctx.store.getClient(meta.hostname);
    await this.ctx.store.upsertClient({ name: meta.hostname, profile: meta.profile, firstSeen: prev?.firstSeen ?? Date.now(), version });
    await editClientsXml(this.clientsPath, { op: "set", name: meta.hostname, attr: "version", value: version, absent: "skip" }, this.onClientsCommit);
  }

  bundleOrigin(bundle: string): string | undefined {
    try {
      return this.groups().bundleOrigins.get(bundle);
    } catch {
      return undefined;
    }
  }

  canonicalName(client: string): string {
    const lc = client.toLowerCase();
    try {
      return this.clients().aliases.get(lc) ?? lc;
    } catch {
      return lc;
    }
  }

  /** clients.xml's clients and the store's registrations; a stored name that breaks the name rule (registered by an older version) is left out. */
  async listClients(): Promise<string[]> {
    const names = new Set(this.clients().clients);
    for (const r of await this.ctx.store.listClients()) {
      if (isValidClientName(r.name)) names.add(canonicalClientName(r.name));
      else this.ctx.logger.warn({ client: quoteName(r.name) }, "stored client name breaks the client-name rule; left out");
    }
    return [...names];
  }

  allGroups(): Set<string> {
    const m = this.groups();
    return new Set([...m.groups.keys(), ...m.membership.keys(), ...m.negated.keys()]);
  }

  groupsInCategory(category: string): Set<string> {
    return new Set([...this.groups().groups.values()].filter((g) => g.category === category).map((g) => g.name));
  }

  async clientNames(client: string): Promise<{ names: string[]; addresses: string[] }> {
    const c = this.clients();
    const lc = client.toLowerCase();
    return { names: [lc, ...(c.raliases.get(lc) ?? [])], addresses: [...(c.raddresses.get(lc) ?? [])] };
  }
}

export const metadataPlugin: PluginFactory = (ctx) => new MetadataPlugin(ctx);
