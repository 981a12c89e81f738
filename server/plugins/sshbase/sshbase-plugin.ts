// The SSHbase plugin (Generator role): per-client SSH host keys generated on first request
// and kept in SSHbase/, and /etc/ssh/ssh_known_hosts built from every client's public keys. A client
// whose signed parameters carry its host key and the deployment's public keys (param-keys.ts) gets
// those instead: the key it was delivered, and every node of its deployment known on its first run.
import type { XmlElement } from "../../../protocol/xml.js";
import { VacfgError } from "../../../protocol/errors.js";
import { notGeneratedYet, type PluginContext } from "../../core/context.js";
import type { ClientMetadata } from "../../core/metadata.js";
import type { GeneratorRole, Plugin, PullChoice, PulledEntry, PullTargetRole } from "../../core/roles.js";
import { FileCache } from "../../core/file-cache.js";
import { recordBuildInputValue } from "../../core/build-inputs.js";
import { RepoDerived } from "../../core/repo-trust.js";
import { StoreAndRepoDerived } from "../../core/store-reads.js";
import { HostKeyStore, KEY_BASENAMES, type KeyFile } from "./host-keys.js";
import { creatorEncryption } from "../shared/encryption.js";
import { paramHostKey, paramKnownHosts } from "./param-keys.js";

const KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts";

const PUB_BASENAMES = KEY_BASENAMES.filter((b) => b.endsWith(".pub"));
const SERVED: ReadonlySet<string> = new Set([KNOWN_HOSTS, ...KEY_BASENAMES.map((b) => `/etc/ssh/${b}`)]);

/** Upstream's HostKeyEntrySet/KnownHostsEntrySet metadata, in its order. */
function bindKeyInfo(entry: XmlElement, mode: string): void {
  entry.attrs.owner = "root";
  entry.attrs.group = "root";
  entry.attrs.type = "file";
  entry.attrs.mode = mode;
}

function setText(entry: XmlElement, text: string): void {
  if (text) entry.text = text;
  else {
    delete entry.text;
    entry.attrs.empty = "true";
  }
}

export class SSHbasePlugin implements Plugin, GeneratorRole, PullTargetRole {
  readonly name = "SSHbase";
  readonly keys: HostKeyStore;
  private readonly staticKnownHosts: FileCache<string>;
  /**
   * knownHostsLines' text per roster (the object currentRoster keeps while it holds: no comparison of
   * every client's names per build), then per parameters, while the repository is unchanged.
   */
  private readonly otherLines = new WeakMap<Roster, RepoDerived<string>>();
  private readonly staticKnownHostsPath: string;
  /** The roster and its key, read once while neither the repository nor the store's client data moved. */
  private readonly rosters: StoreAndRepoDerived<{ roster: Roster; key: string }>;

  constructor(private readonly ctx: PluginContext) {
    this.keys = new HostKeyStore(ctx.settings.repo, ctx.settings.encryption, creatorEncryption(ctx.settings, ctx.settings.sshbasePassphrase, "SSHbase"));
    this.staticKnownHosts = new FileCache((t) => t);
    this.staticKnownHostsPath = `${this.keys.dir}/ssh_known_hosts`;
    this.rosters = new StoreAndRepoDerived(ctx.store, ctx.settings.repo);
  }

  entryNames(tag: string): Set<string> {
    return tag === "Path" ? new Set(SERVED) : new Set();
  }

  servesEntry(tag: string, name: string): boolean {
    return tag === "Path" && SERVED.has(name);
  }

  /** The host key delivered in each build's parameters (asked by each of a build's SSHbase entries). */
  private readonly deliveredKeys = new WeakMap<ClientMetadata, ReturnType<typeof paramHostKey> | null>();

  private delivered(meta: ClientMetadata): ReturnType<typeof paramHostKey> {
    let d = this.deliveredKeys.get(meta);
    if (d === undefined) this.deliveredKeys.set(meta, (d = paramHostKey(meta) ?? null));
    return d ?? undefined;
  }

  /** Synchronous for a key once the client's keys exist (no promise per entry); known_hosts waits for the roster. */
  bindEntry(entry: XmlElement, meta: ClientMetadata): Promise<void> | void {
    const delivered = this.delivered(meta);
    const generating = this.ctx.settings.readOnly ? undefined : this.keys.ensureKeys(meta, delivered?.type);
    return generating ? generating.then(() => this.bindWithKeys(entry, meta, delivered)) : this.bindWithKeys(entry, meta, delivered);
  }

  private bindWithKeys(entry: XmlElement, meta: ClientMetadata, delivered: ReturnType<typeof paramHostKey>): Promise<void> | void {
    const name = entry.attrs.name ?? "";
    if (name === KNOWN_HOSTS) {
      bindKeyInfo(entry, "0644");
      const text = this.knownHostsFor(meta);
      if (typeof text === "string") return setText(entry, text);
      return text.then((t) => setText(entry, t));
    }
    const basename = name.slice("/etc/ssh/".length);
    if (!name.startsWith("/etc/ssh/") || !KEY_BASENAMES.includes(basename)) {
      throw new VacfgError("REPO_FILE", `SSHbase does not handle ${name}`);
    }
    bindKeyInfo(entry, basename.endsWith(".pub") ? "0644" : "0600");
    if (delivered && basename.startsWith(`ssh_host_${delivered.type}_key`)) {
      setText(entry, basename.endsWith(".pub") ? delivered.publicKey : delivered.privateKey);
      return;
    }
    const file = this.keys.best(basename, meta);
    if (!file && this.ctx.settings.readOnly) throw new VacfgError("REPO_FILE", notGeneratedYet(`SSHbase/${basename}.H_${meta.hostname}`, meta.hostname));
    if (!file) throw new VacfgError("REPO_FILE", `SSHbase: no ${basename} for ${meta.hostname} in ${this.keys.dir}`);
    setText(entry, this.keys.readKey(file));
  }

  /** bcfg2-admin pull: a host key goes to the client's own file, as upstream's AcceptChoices. */
  acceptChoices(_entry: PulledEntry, meta: ClientMetadata): PullChoice[] {
    return [{ kind: "host", hostname: meta.hostname }];
  }

  /**
   * Upstream AcceptPullData: the key's text into SSHbase/KEY.H_client (atomically; a private key
   * 0600). ssh_known_hosts is built from every client's keys, so there is nothing to pull into.
   */
  async acceptPullData(choice: PullChoice, entry: PulledEntry, meta: ClientMetadata): Promise<string[]> {
    const basename = entry.name.slice("/etc/ssh/".length);
    if (!entry.name.startsWith("/etc/ssh/") || !KEY_BASENAMES.includes(basename)) {
      throw new VacfgError("PULL", `SSHbase builds ${entry.name} from every client's keys; nothing can be pulled into it`);
    }
    if (entry.content === undefined) throw new VacfgError("PULL", `Failed to pull ${entry.name}: its content is not in ${meta.hostname}'s statistics`);
    if (choice.kind !== "host") throw new VacfgError("PULL", "SSHbase keeps pulled keys host-specific only");
    return [await this.keys.writeHostKey(basename, choice.hostname, entry.content)];
  }

  /**
   * ssh_known_hosts as upstream builds it: a static SSHbase/ssh_known_hosts wins; otherwise
   * the *.static files, then one line per public key file ("names,aliases,addrs type key"),
   * then the client's own keys for localhost.
   */
  knownHostsFor(meta: ClientMetadata): string | Promise<string> {
    const fixed = this.staticKnownHosts.get(this.staticKnownHostsPath);
    if (fixed !== undefined) return fixed;
    // The roster read while neither the store's client data nor the repository moved: no promise.
    const known = this.rosters.now();
    return known !== undefined ? this.knownHostsWith(meta, known.value) : this.currentRoster().then((r) => this.knownHostsWith(meta, r));
  }

  private knownHostsWith(meta: ClientMetadata, { roster, key }: { roster: Roster; key: string }): string {
    // The text follows from repository files (which the build cache tracks) and the roster of
    // clients (names, addresses, group members: the store), so only the roster is read again
    // before a cached build is reused.
    recordBuildInputValue(meta, "SSHbase:roster", key, async () => (await this.currentRoster()).key, { fromRepositoryAndStore: true });
    return this.knownHostsFromKeys(meta, roster);
  }

  private knownHostsFromKeys(meta: ClientMetadata, roster: Roster): string {
    // The deployment's nodes from the signed parameters; SSHbase's own keys for those names are left out.
    const fromParams = paramKnownHosts(meta);
    // (Most clients' parameters list no keys: their key, "\0", made without copies.)
    const key = fromParams.names.size === 0 && fromParams.lines.length === 0 ? "\0" : `${[...fromParams.names].join("\0")}\0${fromParams.lines.join("\n")}`;
    let forRoster = this.otherLines.get(roster);
    if (!forRoster) this.otherLines.set(roster, (forRoster = new RepoDerived(this.keys.dir)));
    let text = forRoster.get(key, () => {
      const lines = this.knownHostsLines(roster, fromParams);
      return lines.length > 0 ? lines.join("\n") + "\n" : "";
    });
    const delivered = this.delivered(meta);
    if (delivered) text += `localhost,localhost.localdomain,127.0.0.1 ${delivered.publicKey}`;
    // The client's own public keys but the delivered one's type, by path (one loop: this runs on every build).
    const skipped = `ssh_host_${delivered?.type}_key.pub`;
    const own: KeyFile[] = [];
    for (let i = 0; i < PUB_BASENAMES.length; i++) {
      const f = this.keys.best(PUB_BASENAMES[i]!, meta);
      if (f !== undefined && f.basename !== skipped) own.push(f);
    }
    own.sort((a, b) => cmp(a.path, b.path));
    for (let i = 0; i < own.length; i++) text += `localhost,localhost.localdomain,127.0.0.1 ${this.keys.readKey(own[i]!)}`;
    return text;
  }

  /** The lines of ssh_known_hosts before the client's own (the same for every client of one roster). */
  private knownHostsLines(roster: Roster, fromParams: { names: Set<string>; lines: string[] }): string[] {
    const lines: string[] = this.keys.staticFiles().map((p) => this.keys.read(p).trimEnd());
    lines.push(...fromParams.lines);
    if (fromParams.names.size > 0) {
      const names = new Map([...roster.names].filter(([, n]) => !n.some((x) => fromParams.names.has(x.toLowerCase()))));
      roster = { names, members: roster.members };
    }
    const pubFiles = this.publicKeyFiles();
    const byBasename = [...new Set(pubFiles.map((f) => f.basename))].sort();
    for (const basename of byBasename) {
      const files = pubFiles
        .filter((f) => f.basename === basename)
        .sort((a, b) => cmp(specKey(a), specKey(b)));
      for (const f of files) {
        const hostnames = hostnamesFor(f, roster);
        if (hostnames.length === 0) continue; // a key for an unknown client or group
        const key = this.otherClientKey(f);
        if (key !== undefined) lines.push(`${hostnames.join(",")} ${key.trimEnd()}`);
      }
    }
    return lines;
  }

  private publicKeyFiles(): KeyFile[] {
    return this.keys.files().filter((f) => f.basename.endsWith(".pub"));
  }

  private currentRoster(): Promise<{ roster: Roster; key: string }> {
    return this.rosters.get(async () => {
      const roster = await this.roster();
      return { roster, key: rosterKey(roster) };
    });
  }

  /** Every known client's names, and the members of each group that has a public key file. */
  private async roster(): Promise<Roster> {
    const names = await this.allClientNames();
    const members = new Map<string, string[]>();
    const groups = new Set(this.publicKeyFiles().flatMap((f) => (f.spec.kind === "group" ? [f.spec.group] : [])));
    const md = this.ctx.metadata();
    for (const group of [...groups].sort(cmp)) {
      const out: string[] = [];
      for (const client of names.keys()) if ((await md.buildMetadata(client, [])).groups.has(group)) out.push(client);
      members.set(group, out);
    }
    return { names, members };
  }

  /** Another client's public key for known_hosts; one that leaves SSHbase/ (a symlink out) is logged and left out, not fatal for everyone. */
  private otherClientKey(f: KeyFile): string | undefined {
    try {
      return this.keys.readKey(f);
    } catch (e) {
      if (!(e instanceof VacfgError && e.code === "PATH_ESCAPE")) throw e;
      this.ctx.logger.error({ file: f.path, err: e.message }, "SSHbase: public key left out of ssh_known_hosts");
      return undefined;
    }
  }

  /** Every known client's names: hostname, aliases, their short forms, and addresses, sorted (no DNS). */
  private async allClientNames(): Promise<Map<string, string[]>> {
    const md = this.ctx.metadata();
    const out = new Map<string, string[]>();
    for (const client of await md.listClients()) {
      const { names, addresses } = await md.clientNames(client);
      const all = new Set<string>([client, ...names]);
      for (const n of [...all]) all.add(n.split(".")[0]!);
      for (const a of addresses) all.add(a);
      out.set(client, [...all].sort(cmp));
    }
    return out;
  }
}

/** Who a known_hosts line can name: client → its names and addresses; group → member clients. */
interface Roster {
  names: Map<string, string[]>;
  members: Map<string, string[]>;
}

function rosterKey(r: Roster): string {
  return JSON.stringify([[...r.names], [...r.members]]);
}

function hostnamesFor(f: KeyFile, r: Roster): string[] {
  if (f.spec.kind === "host") return r.names.get(f.spec.hostname) ?? [];
  if (f.spec.kind === "all") return [...r.names.values()].flat();
  return (r.members.get(f.spec.group) ?? []).flatMap((c) => r.names.get(c) ?? []);
}

function specKey(f: KeyFile): string {
  return f.spec.kind === "host" ? f.spec.hostname : f.spec.kind === "group" ? f.spec.group : "";
}

/** Python's default string ordering (code points), not localeCompare. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
