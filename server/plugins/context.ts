// The "Context" plugin (vacfg extension): the client's contextualization parameters, sent as the
// probe value `vacfg-context` (JSON), become template data (`params`) and, through
// Context/groups.xml, groups (e.g. the first of `nodenames` is the torque head).
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import type { XmlElement } from "../../protocol/xml.js";
import { FileCache } from "../core/file-cache.js";
import type { PluginContext, PluginFactory } from "../core/context.js";
import type { ClientMetadata } from "../core/metadata.js";
import type { AnyPlugin, ConnectorRole } from "../core/roles.js";
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

export class ContextPlugin implements AnyPlugin, ConnectorRole {
  readonly name = "Context";
  private readonly rules = new FileCache<ContextGroupRule[]>(parseContextGroups);
  constructor(private readonly ctx: PluginContext) {}

  /** The client's parameters from its `vacfg-context` probe value ({} when absent or not JSON). */
  async params(client: string): Promise<Record<string, unknown>> {
    const data = await this.ctx.store.getProbeData(client.toLowerCase());
    const raw = data?.values.find((v) => v.name === CONTEXT_PROBE)?.value;
    if (raw === undefined || raw.trim() === "") return {};
    try {
      const v = JSON.parse(raw) as unknown;
      if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      /* fall through */
    }
    this.ctx.logger.warn({ client }, `probe ${CONTEXT_PROBE} is not a JSON object; ignored`);
    return {};
  }

  async additionalGroups(client: string): Promise<string[]> {
    let rules: ContextGroupRule[] | undefined;
    try {
      rules = this.rules.get(join(this.ctx.settings.repo, "Context", "groups.xml"));
    } catch (e) {
      this.ctx.logger.error({ err: (e as Error).message }, "Context: groups.xml unusable");
      return [];
    }
    if (!rules || rules.length === 0) return [];
    const params = await this.params(client);
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

  async additionalData(meta: ClientMetadata): Promise<Record<string, unknown>> {
    return this.params(meta.hostname);
  }
}

export const contextPlugin: PluginFactory = (ctx) => new ContextPlugin(ctx);
