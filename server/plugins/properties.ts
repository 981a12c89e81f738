// The Properties plugin: Properties/*.xml (and *.json) exposed to templates as
// metadata.Properties[filename], with Group/Client resolved when the file asks (automatch).
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import type { XmlElement } from "../../protocol/xml.js";
import { DirCache, FileCache } from "../core/file-cache.js";
import type { PluginContext, PluginFactory } from "../core/context.js";
import type { ClientMetadata } from "../core/metadata.js";
import type { AnyPlugin, ConnectorRole } from "../core/roles.js";
import { xmlMatch } from "./shared/xml-match.js";
import { includingParser, type TreeParser } from "./shared/xinclude.js";

/** What a template sees for one property file. */
export interface PropertyFile {
  name: string;
  /** The XML tree (after Group/Client resolution when automatch="true"). */
  xdata?: XmlElement;
  /** The parsed JSON for .json files. */
  json?: unknown;
  /** Group/Client conditionals resolved for this client (upstream XMLMatch). */
  XMLMatch?: () => XmlElement;
}

type Parsed = { kind: "xml"; root: XmlElement } | { kind: "json"; value: unknown };

function parseProperty(text: string, path: string, tree: TreeParser): Parsed {
  if (path.endsWith(".json")) {
    try {
      return { kind: "json", value: JSON.parse(text) };
    } catch (e) {
      throw new VacfgError("REPO_FILE", `Could not load JSON data from ${path}: ${(e as Error).message}`);
    }
  }
  return { kind: "xml", root: tree(text, path) };
}

export class PropertiesPlugin implements AnyPlugin, ConnectorRole {
  readonly name = "Properties";
  private readonly dir: string;
  private readonly dirCache = new DirCache();
  private readonly files: FileCache<Parsed>;

  constructor(private readonly ctx: PluginContext) {
    this.dir = join(ctx.settings.repo, "Properties");
    // XML property files are StructFiles upstream: XIncludes resolved.
    this.files = new FileCache((text, path, deps) => parseProperty(text, path, includingParser(ctx.settings.repo, deps)));
  }

  async additionalData(meta: ClientMetadata): Promise<Record<string, PropertyFile>> {
    const out: Record<string, PropertyFile> = {};
    for (const f of this.dirCache.list(this.dir)) {
      if (!/\.(xml|json)$/.test(f) || f.endsWith(".xsd")) continue;
      let parsed: Parsed | undefined;
      try {
        parsed = this.files.get(join(this.dir, f));
      } catch (e) {
        this.ctx.logger.error({ file: join(this.dir, f), err: (e as Error).message }, "Properties: failed to load");
        continue;
      }
      if (!parsed) continue;
      if (parsed.kind === "json") {
        out[f] = { name: f, json: parsed.value };
        continue;
      }
      const root = parsed.root;
      const automatch = (root.attrs.automatch ?? "false").toLowerCase() === "true";
      out[f] = { name: f, xdata: automatch ? xmlMatch(root, meta) : root, XMLMatch: () => xmlMatch(root, meta) };
    }
    return out;
  }
}

export const propertiesPlugin: PluginFactory = (ctx) => new PropertiesPlugin(ctx);
