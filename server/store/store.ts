// The store interface: everything the server keeps that is not in the repository.
// Two implementations (SQLite embedded default, PostgreSQL for several servers) pass one test suite.

/** A client as the server knows it at run time (clients.xml stays the admin's source of truth). */
export interface ClientRegistration {
  name: string;
  profile: string;
  /** When the server first saw this client (ms since epoch). */
  firstSeen: number;
  /** Client version string from DeclareVersion, if any. */
  version?: string;
}

/** One probe's stored output, as the client sent it (group: lines already removed). */
export interface ProbeValue {
  name: string;
  source: string;
  value: string;
}

export interface ClientProbeData {
  client: string;
  values: ProbeValue[];
  /** Groups the client's probes put it in (from `group:` lines). */
  groups: string[];
  /** When the data was received (ms since epoch). */
  timestamp: number;
}

export type StatsEntryKind = "good" | "bad" | "modified" | "extra";

/** One entry of one run's statistics (a copy of the config entry plus the client's current_* findings). */
export interface StatsEntry {
  kind: StatsEntryKind;
  tag: string;
  name: string;
  /** All attributes as the client sent them (includes current_*, qtext stripped). */
  attrs: Record<string, string>;
  /** Unified diff (decoded from current_bdiff) or current file contents (current_bfile), if sent. */
  diff?: string;
}

/** One client run as reported by RecvStats. */
export interface RunRecord {
  client: string;
  /** Server receive time (ms since epoch). */
  timestamp: number;
  state: "clean" | "dirty";
  total: number;
  good: number;
  bad: number;
  modified: number;
  extra: number;
  revision: string;
  dryRun: boolean;
  flags: Record<string, string>;
  /** OpStamps: phase name -> unix time (seconds, float), as sent. */
  timings: Record<string, number>;
  entries: StatsEntry[];
  /** The groups and bundles the server gave the client when the run arrived (Bcfg2 Reporting keeps them too). */
  groups?: string[];
  bundles?: string[];
}

export interface StoredRun extends Omit<RunRecord, "entries" | "groups" | "bundles"> {
  id: number;
  /** Newest minus oldest OpStamp (seconds); absent with fewer than two stamps. */
  durationSeconds?: number;
}

export interface RunQuery {
  client?: string;
  /** Only runs after this time (ms). */
  after?: number;
  /** Only runs at or before this time (ms), for "as of" views. */
  before?: number;
  limit?: number;
}

export type MemberKind = "group" | "bundle";

/** A group or bundle a run must carry to count (the per-group and per-bundle views). */
export interface MemberFilter {
  kind: MemberKind;
  name: string;
}

/**
 * A time window cut into buckets: bucket i holds runs received in (from + i*step, from + (i+1)*step],
 * so that its end is a point of the charts; the last bucket ends at `to` (which may cut it short).
 */
export interface BucketQuery {
  from: number;
  to: number;
  step: number;
  client?: string;
  member?: MemberFilter;
}

/**
 * A client's newest run at or before point i of a window (the end of bucket i), with its counts and
 * whether it carries the member filter's group or bundle (true without a filter).
 */
export interface PointRun {
  id: number;
  client: string;
  point: number;
  timestamp: number;
  state: "clean" | "dirty";
  bad: number;
  modified: number;
  extra: number;
  member: boolean;
}

/** Run durations in one bucket (runs without a duration are left out). */
export interface DurationBucket {
  bucket: number;
  runs: number;
  meanSeconds: number;
  maxSeconds: number;
}

/** One bad, modified or extra entry of one run (the entry timeline). */
export interface RunProblem {
  runId: number;
  kind: Exclude<StatsEntryKind, "good">;
  tag: string;
  name: string;
}

/** A generic JSON document store for later features (deployments, VMs, attestations, address leases). */
export interface RecordTable {
  put(kind: string, key: string, value: unknown): Promise<void>;
  get<T>(kind: string, key: string): Promise<T | undefined>;
  list<T>(kind: string): Promise<Array<{ key: string; value: T }>>;
  delete(kind: string, key: string): Promise<boolean>;
  /** Atomically insert only if absent; returns false when the key exists (used to lease addresses once). */
  insertIfAbsent(kind: string, key: string, value: unknown): Promise<boolean>;
}

export interface Store extends RecordTable {
  readonly kind: "sqlite" | "postgres";
  /** Runs pending versioned migrations. Idempotent; safe with several processes starting at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  upsertClient(c: ClientRegistration): Promise<void>;
  getClient(name: string): Promise<ClientRegistration | undefined>;
  listClients(): Promise<ClientRegistration[]>;
  /** Forgets a registration (`vacfg client del`); its runs and probe data stay. True when there was one. */
  deleteClient(name: string): Promise<boolean>;

  /**
   * A number that moves, whichever process writes, in the same transaction as every change to what
   * client metadata is built from: client registrations and probe data (not runs or records). A
   * value read before reading those vouches for what was read until it moves.
   */
  metadataVersion(): Promise<number>;
  /**
   * metadataVersion() without waiting, where the engine can read it synchronously (SQLite, memory);
   * undefined when it cannot (then ask metadataVersion(), which also reports the failure).
   */
  metadataVersionNow?(): number | undefined;

  /** Replaces the client's probe data (values + probe groups) in one transaction. */
  putProbeData(d: ClientProbeData): Promise<void>;
  getProbeData(client: string): Promise<ClientProbeData | undefined>;

  /** Stores a run durably (committed, fsynced by the engine) before resolving. Returns its id. */
  recordRun(run: RunRecord): Promise<number>;
  listRuns(q?: RunQuery): Promise<StoredRun[]>;
  /** The newest run of each client (as of `before` when given). */
  latestRuns(before?: number): Promise<StoredRun[]>;
  getRunEntries(runId: number): Promise<StatsEntry[]>;
  /** The entries of one kind of these runs (a few queries for any number of runs, not one per run), by run id, each run's in order. */
  runEntries(runIds: readonly number[], kind: StatsEntryKind): Promise<Array<{ runId: number; entry: StatsEntry }>>;
  /** The groups and bundles recorded with a run, sorted by name. */
  getRunMembers(runId: number): Promise<{ groups: string[]; bundles: string[] }>;
  /** The groups (or bundles) of these runs (one index seek per run), by name. */
  runMembers(runIds: readonly number[], kind: MemberKind): Promise<Array<{ runId: number; name: string }>>;
  /**
   * Each client's newest run at each point of the window (the end of each bucket), clients without
   * a run by then left out: clients × points rows at most, one index seek each, whatever the number of runs.
   */
  runsAtPoints(q: BucketQuery): Promise<PointRun[]>;
  /** Count, mean and maximum run duration per bucket of the window (buckets without runs left out). */
  durationsByBucket(q: BucketQuery): Promise<DurationBucket[]>;
  /** The bad, modified and extra entries of the runs `listRuns(q)` returns, newest run first, at most maxRows. */
  runProblems(q: RunQuery, maxRows: number): Promise<RunProblem[]>;
  /**
   * Deletes the runs (and their entries) received before `before` (ms), except each client's newest
   * run, so the reports still show every client's last state. Returns how many runs were deleted.
   */
  purgeRuns(before: number): Promise<number>;
}

/**
 * What the configuration core and its plugins use while serving clients (Metadata, Probes,
 * Reporting's RecvStats, records such as the registration rate). Every Store is one; local mode
 * (`memory-store.ts`) is one without a database.
 */
export type CoreStore = Pick<Store, "getClient" | "upsertClient" | "listClients" | "metadataVersion" | "metadataVersionNow" | "getProbeData" | "putProbeData" | "recordRun" | "get" | "put" | "close">;
