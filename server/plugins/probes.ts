// The Probes plugin: Probes/<name>[.G##_group|.H_host] scripts (most specific wins), probe output
// stored durably in the store, `group:` lines as groups, values exposed to templates.
import { join } from "node:path";
import type { Probe, ProbeDataItem } from "../../protocol/documents/probes.js";
import { parseXml, type XmlElement } from "../../protocol/xml.js";
import { DirCache, FileCache } from "../core/file-cache.js";
import { probeDataNow } from "../core/store-reads.js";
import type { ClientProbeData } from "../store/store.js";
import type { PluginContext, PluginFactory } from "../core/context.js";
import type { ClientMetadata, ProbeValueView } from "../core/metadata.js";
import type { AnyPlugin, ConnectorRole, ProbingRole } from "../core/roles.js";
import { confinedPath } from "./shared/confined-path.js";

/** A probe value as templates see it: the string, plus .json / .xdata when the output parses. */
export class ProbeValue implements ProbeValueView {
  private parsedJson?: { v: unknown };
  private parsedXml?: { v: XmlElement | undefined };
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
  get data(): string {
    return this.value;
  }
  get json(): unknown {
    if (!this.parsedJson) {
      try {
        this.parsedJson = { v: JSON.parse(this.value) };
      } catch {
        this.parsedJson = { v: undefined };
      }
    }
    return this.parsedJson.v;
  }
  get xdata(): XmlElement | undefined {
    if (!this.parsedXml) {
      try {
        this.parsedXml = { v: parseXml(this.value, { source: "probe" }) };
      } catch {
        this.parsedXml = { v: undefined };
      }
    }
    return this.parsedXml.v;
  }
}

interface Specificity {
  all: boolean;
  group?: string;
  prio: number;
  hostname?: string;
}

// Upstream EntrySet's filename pattern with ProbeSet's basename regex, and its ignore list.
const SPECIFIC = /^[0-9A-Za-z_-]+(\.((H_(?<hostname>\S+))|(G(?<prio>\d+)_(?<group>\S+))))?$/;
const PROBENAME = /^(?<basename>\S+?)(\.(?:(?:G\d\d)|H)_\S+)?$/;
const IGNORE = /^(\.#.*|.*~|\..*\.(tmp|sw[px])|probed\.xml)$/;
const BANGLINE = /^#!\s*(.*)$/;
const GROUPLINE = /^group:\s*(\S+)\s*/;

function specificity(fname: string): Specificity | undefined {
  const m = SPECIFIC.exec(fname);
  if (!m) return undefined;
  const g = m.groups!;
  if (g.hostname) return { all: false, hostname: g.hostname, prio: 0 };
  if (g.group) return { all: false, group: g.group, prio: Number(g.prio) };
  return { all: true, prio: 0 };
}

/** Most specific first: host, then groups by descending priority, then files for all. */
function rank(s: Specificity): number {
  if (s.hostname) return 0;
  if (s.group) return 1;
  return 2;
}

export class ProbesPlugin implements AnyPlugin, ProbingRole, ConnectorRole {
  readonly name = "Probes";
  private readonly dir: string;
  private readonly dirCache = new DirCache();
  private readonly scripts = new FileCache<string>((t) => t);

  constructor(private readonly ctx: PluginContext) {
    this.dir = join(ctx.settings.repo, "Probes");
  }

  async getProbes(meta: ClientMetadata): Promise<Probe[]> {
    const candidates: Array<{ fname: string; spec: Specificity }> = [];
    for (const fname of this.dirCache.list(this.dir)) {
      if (IGNORE.test(fname)) continue;
      const spec = specificity(fname);
      if (!spec) continue;
      if (spec.all || spec.hostname === meta.hostname || (spec.group !== undefined && meta.groups.has(spec.group))) {
        candidates.push({ fname, spec });
      }
    }
    candidates.sort((a, b) => rank(a.spec) - rank(b.spec) || (a.spec.group && b.spec.group ? b.spec.prio - a.spec.prio : 0));
    const chosen = new Map<string, { fname: string; spec: Specificity }>();
    for (const c of candidates) {
      const pname = PROBENAME.exec(c.fname)!.groups!.basename;
      if (!chosen.has(pname)) chosen.set(pname, c);
    }
    const probes: Probe[] = [];
    for (const [pname, { fname, spec }] of chosen) {
      // A host-specific probe is chosen by the client's name: it must resolve inside Probes/.
      const script = this.scripts.get(spec.hostname !== undefined ? confinedPath(this.dir, fname) : join(this.dir, fname));
      if (script === undefined) continue;
      const bang = BANGLINE.exec(script.split("\n")[0]);
      probes.push({ name: pname, source: this.name, interpreter: bang ? bang[1] : "/bin/sh", script });
    }
    return probes;
  }

  private groupAllowed(group: string): boolean {
    const allowed = this.ctx.settings.allowedProbeGroups;
    if (allowed.length === 0) return true;
    // Upstream anchors each allowed_groups regex at both ends.
    return allowed.some((r) => new RegExp(`^(?:${r.source})$`, r.flags.replace("g", "")).test(group));
  }

  async receiveData(meta: ClientMetadata, items: ProbeDataItem[]): Promise<void> {
    const groups = new Set<string>();
    const values = new Map<string, { name: string; source: string; value: string }>();
    for (const item of items) {
      const kept: string[] = [];
      for (const line of item.output.split("\n")) {
        const m = GROUPLINE.exec(line);
        if (!m) {
          kept.push(line);
          continue;
        }
        if (this.groupAllowed(m[1])) groups.add(m[1]);
        else this.ctx.logger.warn({ client: meta.hostname, group: m[1] }, "disallowed probe group assignment");
      }
      values.set(item.name, { name: item.name, source: item.source, value: item.output === "" ? "" : kept.join("\n") });
    }
    await this.ctx.store.putProbeData({ client: meta.hostname, values: [...values.values()], groups: [...groups], timestamp: Date.now() });
  }

  // Without a promise when this GetConfig's shared read of the probe data has already settled (store-reads.ts).
  additionalGroups(client: string): Promise<string[]> | string[] {
    const name = client.toLowerCase();
    const now = probeDataNow(this.ctx.store, name);
    return now !== undefined ? groupsOf(now.value) : this.ctx.store.getProbeData(name).then(groupsOf);
  }

  additionalData(meta: ClientMetadata): Promise<Record<string, ProbeValue>> | Record<string, ProbeValue> {
    const now = probeDataNow(this.ctx.store, meta.hostname);
    return now !== undefined ? valuesOf(now.value) : this.ctx.store.getProbeData(meta.hostname).then(valuesOf);
  }
}

function groupsOf(data: ClientProbeData | undefined): string[] {
  return data?.groups ?? [];
}

function valuesOf(data: ClientProbeData | undefined): Record<string, ProbeValue> {
  const out: Record<string, ProbeValue> = {};
  for (const v of data?.values ?? []) out[v.name] = new ProbeValue(v.value);
  return out;
}

export const probesPlugin: PluginFactory = (ctx) => new ProbesPlugin(ctx);
