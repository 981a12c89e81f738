// The "Context" plugin (vacfg extension): the client's contextualization parameters, sent as the
// probe value `vacfg-context` (JSON), become template data (`params`) and, through
// Context/groups.xml, groups (e.g. the first of `nodenames` is the Slurm head). A node must not
// promote itself: only parameters the site signed for this very client count (the lab setting
// allow_unsigned also admits unsigned ones, and logs it); anything else gives {} and no group.
// The checked `users` parameter also becomes a bundle of accounts and ssh keys (context-users.ts),
// and Context/files.xml binds Paths whose content is a parameter (host certificate, secrets).
import type { KeyObject } from "node:crypto";
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import { parameterFileToJson, signedParametersFromJson } from "../../protocol/params.js";
import { parseEd25519Key } from "../../protocol/ed25519-key.js";
import { parametersRefusal } from "../../protocol/params-signature.js";
import type { XmlElement } from "../../protocol/xml.js";
import { FileCache } from "../core/file-cache.js";
import { probeDataNow } from "../core/store-reads.js";
import type { ClientProbeData } from "../store/store.js";
import type { PluginContext, PluginFactory } from "../core/context.js";
import type { ClientMetadata } from "../core/metadata.js";
import type { AnyPlugin, ConnectorRole, GeneratorRole, StructureRole } from "../core/roles.js";
import { failureBundle } from "../core/structure-failure.js";
import { contextFileContent, parseContextFiles, type ContextFileRule } from "./context-files.js";
import { CONTEXT_USERS_BUNDLE, contextUsers, contextUsersBundle } from "./context-users.js";
import { parseRepoXml } from "./shared/xml-match.js";

export const CONTEXT_PROBE = "vacfg-context";

export interface ContextGroupRule {
  group: string;
  param: string;
  /** first | rest | last | any (default any). */
  position: "first" | "rest" | "last" | "any";
}

function parseContextGroups(text: string, path: string): ContextGroupRule[] {
  const root = parseRepoXml(text, path);
  if (root.tag !== "ContextGroups") {
    throw new VacfgError("REPO_FILE", `${path}:${root.line ?? 1}: root element is <${root.tag}>, expected <ContextGroups>`);
  }
  return root.children
    .filter((c: XmlElement) => c.tag === "Group")
    .map((c: XmlElement) => {
      const { name, param } = c.attrs;
      const position = c.attrs.position ?? "any";
      if (!name || !param) throw new VacfgError("REPO_FILE", `${path}:${c.line ?? 0}: <Group> needs name= and param=`);
      if (!["first", "rest", "last", "any"].includes(position)) {
        throw new VacfgError("REPO_FILE", `${path}:${c.line ?? 0}: position="${position}" is not first, rest, last or any`);
      }
      return { group: name, param, position: position as ContextGroupRule["position"] };
    });
}

/** The items a rule selects from a parameter value: strings, or objects' name fields. */
function selected(value: unknown, position: ContextGroupRule["position"]): string[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  const names = list.map((v) => (typeof v === "object" && v !== null && "name" in v ? String((v as { name: unknown }).name) : String(v)));
  if (position === "first") return names.slice(0, 1);
  if (position === "rest") return names.slice(1);
  if (position === "last") return names.slice(-1);
  return names;
}

function isEmpty(o: Record<string, unknown>): boolean {
  for (const _ in o) return false;
  return true;
}

/** A probe value's parameters and why they are refused (undefined: accepted), or why it is not a parameter file. */
type CheckedParams = { params: Record<string, unknown>; refusal: string | undefined } | { parseError: string };
const CHECKED_MAX = 1024;
const NO_FILE_RULES: ReadonlyMap<string, ContextFileRule> = new Map();

/** The client's vacfg-context probe value, or undefined when it sent none (or a blank one). */
function rawParams(data: ClientProbeData | undefined): string | undefined {
  const raw = data?.values.find((v) => v.name === CONTEXT_PROBE)?.value;
  return raw === undefined || raw.trim() === "" ? undefined : raw;
}

export class ContextPlugin implements AnyPlugin, ConnectorRole, StructureRole, GeneratorRole {
  readonly name = "Context";
  private readonly rules = new FileCache<ContextGroupRule[]>(parseContextGroups);
  private readonly files = new FileCache<Map<string, ContextFileRule>>(parseContextFiles);
  private readonly keys: KeyObject[];
  private readonly checked = new Map<string, { key: string; result: CheckedParams }>();
  private readonly groupsPath: string;
  private readonly filesPath: string;
  constructor(private readonly ctx: PluginContext) {
    this.groupsPath = join(ctx.settings.repo, "Context", "groups.xml");
    this.filesPath = join(ctx.settings.repo, "Context", "files.xml");
    this.keys = (ctx.settings.contextKeys ?? []).map((pem, i) => parseEd25519Key(pem, "public", `[context] public_key ${i + 1}`));
    if (ctx.settings.contextAllowUnsigned) {
      ctx.logger.warn("Context: [context] allow_unsigned is on (a lab setting): unsigned parameters derive groups, so any node can claim any role");
    }
  }

  /**
   * The client's parameters from its `vacfg-context` probe value, once their signature is checked
   * against the site's keys and names this client; {} when absent, malformed, unsigned or not its own.
   */
  params(client: string): Promise<Record<string, unknown>> | Record<string, unknown> {
    // A client without parameters is answered without a promise when this GetConfig's shared read
    // of its probe data has settled (store-reads.ts); parameters to check go the async way.
    const now = probeDataNow(this.ctx.store, client.toLowerCase());
    if (now !== undefined && rawParams(now.value) === undefined) return {};
    return this.paramsLater(client);
  }

  private async paramsLater(client: string): Promise<Record<string, unknown>> {
    const raw = rawParams(await this.ctx.store.getProbeData(client.toLowerCase()));
    if (raw === undefined) return {};
    const { names } = await this.ctx.metadata().clientNames(client);
    const checked = this.check(client, raw, names);
    if ("parseError" in checked) {
      this.ctx.logger.warn({ client, err: checked.parseError }, `probe ${CONTEXT_PROBE} is not a parameter file in JSON form; ignored`);
      return {};
    }
    if (checked.refusal === "not signed" && this.ctx.settings.contextAllowUnsigned) {
      this.ctx.logger.warn({ client }, `Context: accepting unsigned parameters (allow_unsigned)`);
    } else if (checked.refusal !== undefined) {
      this.ctx.logger.warn({ client, reason: checked.refusal }, `Context: parameters ${checked.refusal}; they derive no group and no template data`);
      return {};
    }
    // A copy: templates may change what they are given, and the checked value is kept.
    return structuredClone(checked.params);
  }

  /**
   * Parses and checks one probe value (signature against the site keys, node against the client's
   * names). One GetConfig asks for the parameters several times (groups, template data, structures)
   * with the same value, so the last result per client is kept, for the most recent CHECKED_MAX clients.
   */
  private check(client: string, raw: string, names: string[]): CheckedParams {
    const key = `${names.join("\0")}\0\0${raw}`;
    const hit = this.checked.get(client);
    if (hit?.key === key) return hit.result;
    let result: CheckedParams;
    try {
      const sp = signedParametersFromJson(JSON.parse(raw) as unknown, `probe ${CONTEXT_PROBE}`);
      result = { params: parameterFileToJson(sp.params), refusal: parametersRefusal(sp, [client, ...names], this.keys) };
    } catch (e) {
      result = { parseError: (e as Error).message };
    }
    this.checked.delete(client);
    this.checked.set(client, { key, result });
    if (this.checked.size > CHECKED_MAX) this.checked.delete(this.checked.keys().next().value!);
    return result;
  }

  additionalGroups(client: string): Promise<string[]> | string[] {
    let rules: ContextGroupRule[] | undefined;
    try {
      rules = this.rules.get(this.groupsPath);
    } catch (e) {
      this.ctx.logger.error({ err: (e as Error).message }, "Context: groups.xml unusable");
      return [];
    }
    if (!rules || rules.length === 0) return [];
    const params = this.params(client);
    return params instanceof Promise ? params.then((p) => this.groupsFor(client, rules, p)) : this.groupsFor(client, rules, params);
  }

  private groupsFor(client: string, rules: ContextGroupRule[], params: Record<string, unknown>): Promise<string[]> | string[] {
    // No parameters (a client without a signed vacfg-context probe): no rule can select it.
    return isEmpty(params) ? [] : this.selectedGroups(client, rules, params);
  }

  private async selectedGroups(client: string, rules: ContextGroupRule[], params: Record<string, unknown>): Promise<string[]> {
    const { names } = await this.ctx.metadata().clientNames(client);
    const mine = new Set<string>();
    for (const n of names) {
      mine.add(n.toLowerCase());
      mine.add(n.toLowerCase().split(".")[0]);
    }
    const out: string[] = [];
    for (const r of rules) {
      const hit = selected(params[r.param], r.position).some((item) => mine.has(item.toLowerCase()));
      if (hit && !out.includes(r.group)) out.push(r.group);
    }
    return out;
  }

  additionalData(meta: ClientMetadata): Promise<Record<string, unknown>> | Record<string, unknown> {
    return this.params(meta.hostname);
  }

  /** The `users` parameter as a bundle of bound entries (context-users.ts); none without users. */
  buildStructures(meta: ClientMetadata): XmlElement[] {
    const params = (meta.connectors.Context ?? {}) as Record<string, unknown>;
    try {
      const users = contextUsers(params);
      return users.length === 0 ? [] : [contextUsersBundle(users)];
    } catch (e) {
      // The client reports the reason as a failed entry rather than silently getting no users.
      this.ctx.logger.error({ client: meta.hostname, err: (e as Error).message }, "Context: users parameter unusable; no user entries");
      return [failureBundle(CONTEXT_USERS_BUNDLE, (e as Error).message)];
    }
  }

  /** Context/files.xml's rules; none when the file is absent. A broken file throws (a bind error naming file:line). */
  private fileRules(): ReadonlyMap<string, ContextFileRule> {
    return this.files.get(this.filesPath) ?? NO_FILE_RULES;
  }

  /** One name at a time for the core (no set built per build); entryNames for Bundler's globs. */
  servesEntry(tag: string, name: string): boolean {
    if (tag !== "Path") return false;
    try {
      return this.fileRules().has(name);
    } catch (e) {
      this.ctx.logger.error({ err: (e as Error).message }, "Context: files.xml unusable");
      return false;
    }
  }

  entryNames(tag: string): Set<string> {
    if (tag !== "Path") return new Set();
    try {
      return new Set(this.fileRules().keys());
    } catch (e) {
      this.ctx.logger.error({ err: (e as Error).message }, "Context: files.xml unusable");
      return new Set();
    }
  }

  /** A Path of Context/files.xml: the parameter's value as the file, with the owner and mode given there. */
  bindEntry(entry: XmlElement, meta: ClientMetadata): void {
    const rule = this.fileRules().get(entry.attrs.name ?? "");
    if (!rule) throw new VacfgError("REPO_FILE", `Context/files.xml does not list ${entry.attrs.name}`);
    const text = contextFileContent(rule, (meta.connectors.Context ?? {}) as Record<string, unknown>);
    Object.assign(entry.attrs, { type: "file", owner: rule.owner, group: rule.group, mode: rule.mode });
    if (text) entry.text = text;
    else entry.attrs.empty = "true";
  }
}

export const contextPlugin: PluginFactory = (ctx) => new ContextPlugin(ctx);
