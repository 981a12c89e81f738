// The Properties plugin: Properties/*.xml, *.json, *.yaml/*.yml exposed to templates as
// metadata.Properties[filename], with Group/Client resolved when the file asks (automatch).
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import type { XmlElement } from "../../protocol/xml.js";
import { DirCache, FileCache } from "../core/file-cache.js";
import { RepoDerived } from "../core/repo-trust.js";
import type { PluginContext, PluginFactory } from "../core/context.js";
import type { ClientMetadata } from "../core/metadata.js";
import type { AnyPlugin, ConnectorRole } from "../core/roles.js";
import type { PropertyData } from "./shared/template-data/properties-view.js";
import { parseYamlProperty } from "./shared/template-data/yaml-data.js";
import { includingParser, type TreeParser } from "./shared/xinclude.js";
import { elementDecryptor, type ElementDecryptor } from "./shared/encryption.js";

type Parsed = { kind: "xml"; root: XmlElement } | { kind: "json"; value: unknown } | { kind: "yaml"; value: unknown };

/** The files upstream's Properties reads (and its ignore of schemas). */
const PROPERTY_FILE = /\.(xml|json|ya?ml)$/;

function parseProperty(text: string, path: string, tree: TreeParser, decrypt: ElementDecryptor): Parsed {
  if (path.endsWith(".json")) {
    try {
      return { kind: "json", value: JSON.parse(text) };
    } catch (e) {
      throw new VacfgError("REPO_FILE", `Could not load JSON data from ${path}: ${(e as Error).message}`);
    }
  }
  if (/\.ya?ml$/.test(path)) return { kind: "yaml", value: parseYamlProperty(text, path) };
  const root = tree(text, path);
  decrypt(root, path);
  return { kind: "xml", root };
}

export class PropertiesPlugin implements AnyPlugin, ConnectorRole {
  readonly name = "Properties";
  private readonly dir: string;
  private readonly dirCache = new DirCache();
  private readonly files: FileCache<Parsed>;
  /** additionalData's answer, the same for every client (frozen), kept while the repository is unchanged (XIncludes may reach outside Properties/). */
  private readonly data: RepoDerived<Readonly<Record<string, PropertyData>>>;

  constructor(private readonly ctx: PluginContext) {
    this.dir = join(ctx.settings.repo, "Properties");
    // XML property files are StructFiles upstream: XIncludes resolved, encrypted="NAME" elements decrypted.
    const decrypt = elementDecryptor(ctx.settings.encryption, ctx.logger);
    this.files = new FileCache((text, path, deps) => parseProperty(text, path, includingParser(ctx.settings.repo, deps), decrypt));
    this.data = new RepoDerived(ctx.settings.repo);
  }

  /** Each file's data; templates see it through shared/template-data (automatch is applied there, per client). */
  additionalData(_meta: ClientMetadata): Readonly<Record<string, PropertyData>> {
    return this.data.get("", () => Object.freeze(this.load()));
  }

  private load(): Record<string, PropertyData> {
    const out: Record<string, PropertyData> = {};
    for (const f of this.dirCache.list(this.dir)) {
      if (!PROPERTY_FILE.test(f)) continue;
      let parsed: Parsed | undefined;
      try {
        parsed = this.files.get(join(this.dir, f));
      } catch (e) {
        this.ctx.logger.error({ file: join(this.dir, f), err: (e as Error).message }, "Properties: failed to load");
        continue;
      }
      if (!parsed) continue;
      if (parsed.kind === "json") out[f] = { name: f, kind: "json", json: parsed.value };
      else if (parsed.kind === "yaml") out[f] = { name: f, kind: "yaml", yaml: parsed.value };
      else out[f] = { name: f, kind: "xml", root: parsed.root, automatch: (parsed.root.attrs.automatch ?? "false").toLowerCase() === "true" };
    }
    return out;
  }
}

export const propertiesPlugin: PluginFactory = (ctx) => new PropertiesPlugin(ctx);
