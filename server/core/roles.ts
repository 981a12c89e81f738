// The plugin roles (Bcfg2's Server/Plugin/interfaces.py): the core asks "who plays this
// role?", never "is plugin X loaded?". A plugin is one object implementing one or more roles.
import type { Probe, ProbeDataItem } from "../../protocol/documents/probes.js";
import type { Statistics } from "../../protocol/documents/statistics.js";
import type { XmlRpcValue } from "../../protocol/xmlrpc/values.js";
import type { XmlElement } from "../../protocol/xml.js";
import type { AuthDecision, AuthRequest, ClientMetadata } from "./metadata.js";

export interface Plugin {
  readonly name: string;
  /** Called once after every plugin is constructed (load caches, create directories). */
  init?(): Promise<void>;
  close?(): Promise<void>;
}

/** Metadata: who the client is, which profile and groups. Exactly one plugin plays it. */
export interface MetadataRole {
  /** Settles the client name from credentials, or returns undefined (→ HTTP 401). Registers unknown clients. */
  authenticate(req: AuthRequest): Promise<AuthDecision | undefined>;
  /** A success `authenticate` would give, when it can be decided without a wait; undefined: `authenticate` decides. */
  authenticateNow?(req: AuthRequest): AuthDecision | undefined;
  /** Builds metadata (groups from groups.xml/clients.xml plus the given additional groups). */
  buildMetadata(client: string, additionalGroups: Iterable<string>): Promise<ClientMetadata>;
  /** AssertProfile: the group must exist and be profile="true" public="true"; the new profile is saved. */
  setProfile(client: string, profile: string): Promise<void>;
  /** DeclareVersion: records the client's version. */
  setVersion(client: string, version: string): Promise<void>;
  /** All client names known (clients.xml + registered), for SSHbase known_hosts and reports. */
  listClients(): Promise<string[]>;
  /** The canonical client name for a name or alias (lower-cased), so connectors key their data by it. */
  canonicalName?(client: string): string;
  /** Where groups.xml names a bundle ("path:line"), so a bundle that cannot be built can be traced to it. */
  bundleOrigin?(bundle: string): string | undefined;
  /** Every group name groups.xml knows (upstream get_all_group_names), for metadata.query.all_groups(). */
  allGroups?(): Set<string>;
  /** The groups declared with this category (upstream get_all_groups_in_category). */
  groupsInCategory?(category: string): Set<string>;
  /** Names (hostname + aliases) and addresses of a client, for ssh_known_hosts. */
  clientNames(client: string): Promise<{ names: string[]; addresses: string[] }>;
}

/**
 * Connector: adds groups and template data to a client's metadata. Like the roles below that run on
 * every build, it answers without a promise when it has nothing to wait for (the core awaits only
 * promises: an await and an async frame per plugin per build cost more than the work of most).
 */
export interface ConnectorRole {
  additionalGroups?(client: string): Promise<string[]> | string[];
  /** Stored as metadata.connectors[plugin.name] (not a Promise itself). */
  additionalData?(meta: ClientMetadata): Promise<unknown> | unknown;
}

/** Probing: which probes the client runs, and what to do with their output. */
export interface ProbingRole {
  getProbes(meta: ClientMetadata): Promise<Probe[]>;
  receiveData(meta: ClientMetadata, items: ProbeDataItem[]): Promise<void>;
}

/** Structure: the abstract entries a client needs, as <Bundle name=..> elements (Group/Client resolved). */
export interface StructureRole {
  buildStructures(meta: ClientMetadata): Promise<XmlElement[]> | XmlElement[];
}

/** StructureValidator: may change the structures before binding (e.g. Defaults fills attributes). */
export interface StructureValidatorRole {
  validateStructures(meta: ClientMetadata, structures: XmlElement[]): Promise<void> | void;
}

/**
 * Generator: binds abstract entries to content. `entryNames` lists names it handles by exact
 * name (Cfg paths); `servesEntry`, when present, answers the same question for one name without
 * listing them all (its cost must not grow with the repository); `handlesEntry` is asked when no
 * exact-name generator exists (Rules regexes).
 * `bindEntry` fills attributes/text of the entry in place, or throws (→ failure="bind error: …"); it
 * returns a promise only when it has to wait (most binds are synchronous: no promise per entry).
 */
export interface GeneratorRole {
  /** `under` (a directory, e.g. "/etc/app"): only names below it are needed (glob expansion). */
  entryNames?(tag: string, meta: ClientMetadata, under?: string): Promise<Set<string>> | Set<string>;
  servesEntry?(tag: string, name: string, meta: ClientMetadata): boolean;
  handlesEntry?(entry: XmlElement, meta: ClientMetadata): boolean;
  bindEntry(entry: XmlElement, meta: ClientMetadata): Promise<void> | void;
}

/** GoalValidator: checks (and may complete) the finished configuration before it is sent. */
export interface GoalValidatorRole {
  validateGoals(meta: ClientMetadata, config: XmlElement): Promise<void> | void;
}

/** Statistics: store what the client reported. */
export interface StatisticsRole {
  processStatistics(meta: ClientMetadata, stats: Statistics, raw: string): Promise<void>;
}

/** Decision: whitelist/blacklist entries for GetDecisionList. */
export interface DecisionRole {
  getDecisions(meta: ClientMetadata, mode: string): Promise<Array<[string, string]>>;
}

/** ClientRunHooks (upstream's end_client_run): told once a client's configuration is built; must not block it. */
export interface ClientRunHooksRole {
  endClientRun(meta: ClientMetadata): void;
}

/** Where pulled data may go (upstream's Specificity): every client, a group at a priority, or one host. */
export type PullChoice = { kind: "all" } | { kind: "group"; group: string; prio: number } | { kind: "host"; hostname: string };

/** An entry's current state on a client, taken from its last statistics (bcfg2-admin pull's new_entry). */
export interface PulledEntry {
  tag: string;
  name: string;
  owner?: string;
  group?: string;
  mode?: string;
  /** The file's current content; absent when the statistics carry none. */
  content?: Buffer;
}

/**
 * PullTarget (bcfg2-admin pull): the places a client's current state of an entry this plugin
 * generates may be written to, best first, and the writing. Returns the files written.
 */
export interface PullTargetRole {
  acceptChoices(entry: PulledEntry, meta: ClientMetadata): PullChoice[];
  acceptPullData(choice: PullChoice, entry: PulledEntry, meta: ClientMetadata): Promise<string[]>;
}

/** RMI: admin methods exposed as "Plugin.method" (localhost only). */
export interface RmiRole {
  rmi: Record<string, { help: string; call: (...args: XmlRpcValue[]) => Promise<XmlRpcValue> }>;
}

export type AnyPlugin = Plugin &
  Partial<
    MetadataRole &
      ConnectorRole &
      ProbingRole &
      StructureRole &
      StructureValidatorRole &
      GeneratorRole &
      GoalValidatorRole &
      StatisticsRole &
      DecisionRole &
      ClientRunHooksRole &
      PullTargetRole &
      RmiRole
  >;
