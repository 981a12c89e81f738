// Packages/sources.xml as upstream's PackagesSources/Source read it: every <Source> at any depth
// (`.//Source`), its attributes and child elements, the Group/Client conditions of its ancestors,
// and the index URLs an APT source stands for.
import { VacfgError } from "../../../protocol/errors.js";
import type { XmlElement } from "../../../protocol/xml.js";
import type { ClientMetadata } from "../../core/metadata.js";

/** One repository a <Source> stands for (upstream's url_map entry). */
export interface UrlMap {
  version: string;
  component: string | null;
  arch: string;
  debsrc: boolean;
  baseurl: string;
  url: string;
  name: string;
}

export interface AptSource {
  /** Where it is written, for messages ("sources.xml:12"). */
  origin: string;
  url: string;
  rawurl: string;
  version: string;
  name?: string;
  components: string[];
  arches: string[];
  blacklist: string[];
  whitelist: string[];
  debsrc: boolean;
  essential: boolean;
  recommended: boolean;
  gpgkeys: string[];
  /** Names of the non-negated <Group> ancestors, innermost first (upstream's `groups`, for repo names). */
  groups: string[];
  /** The ancestors' conditions: each must hold for the source to apply. */
  conditions: Array<(meta: ClientMetadata) => boolean>;
  urlMap: UrlMap[];
}

const isTrue = (v: string | undefined, dflt: string) => (v ?? dflt).toLowerCase() === "true";
const texts = (e: XmlElement, tag: string) => e.children.filter((c) => c.tag === tag).map((c) => c.text ?? "");

/** upstream Source.get_repo_name (the yum-safe name used in generated configs). */
function repoName(src: Pick<AptSource, "name" | "groups">, m: { component: string | null; url: string }): string {
  if (src.name) return src.name;
  let rname: string;
  if (m.component) rname = m.component;
  else {
    const match = /(?:pulp\/repos\/|\/RPMS\.|\/)([^/]+)\/?$/.exec(m.url);
    if (match) rname = src.groups.length ? `${src.groups[0]}-${match[1]}` : match[1];
    else if (src.groups.length) rname = src.groups[0];
    else rname = /^[A-z]:\/\/(.*?)\/?/.exec(m.url)?.[1] ?? m.url;
  }
  return rname.replace(/[^A-Za-z0-9\-_.:]/g, "-");
}

function sourceFromXml(x: XmlElement, ancestors: XmlElement[], path: string): AptSource {
  const origin = `${path}:${x.line ?? 0}`;
  const type = x.attrs.type;
  if (type === undefined) throw new VacfgError("REPO_FILE", `${origin}: <Source> has no type (upstream skips it)`);
  if (type !== "apt") throw new VacfgError("REPO_FILE", `${origin}: <Source type="${type}">: vacfg serves APT sources only`);
  let rawurl = x.attrs.rawurl ?? "";
  if (rawurl && !rawurl.endsWith("/")) rawurl += "/";
  let url = x.attrs.url ?? "";
  if (url && !url.endsWith("/")) url += "/";
  if (!url && !rawurl) throw new VacfgError("REPO_FILE", `${origin}: <Source> needs url= or rawurl=`);
  for (const u of [url, rawurl]) {
    if (u && !/^(https?|file):\/\//i.test(u)) throw new VacfgError("REPO_FILE", `${origin}: "${u}" is not an http://, https:// or file:// URL`);
  }
  const groups: string[] = [];
  const conditions: AptSource["conditions"] = [];
  // Innermost ancestor first, as lxml's iterancestors().
  for (const a of [...ancestors].reverse()) {
    const name = a.attrs.name ?? "";
    const negate = isTrue(a.attrs.negate, "false");
    if (a.tag === "Group") {
      if (negate) conditions.push((m) => !m.groups.has(name));
      else {
        groups.push(name);
        conditions.push((m) => m.groups.has(name));
      }
    } else if (a.tag === "Client") {
      conditions.push(negate ? (m) => m.hostname !== name : (m) => m.hostname === name);
    }
  }
  const src: AptSource = {
    origin,
    url,
    rawurl,
    version: x.attrs.version ?? "",
    name: x.attrs.name,
    components: texts(x, "Component"),
    arches: texts(x, "Arch"),
    blacklist: texts(x, "Blacklist"),
    whitelist: texts(x, "Whitelist"),
    debsrc: (x.attrs.debsrc ?? "false") === "true",
    essential: isTrue(x.attrs.essential, "true"),
    recommended: isTrue(x.attrs.recommended, "false"),
    gpgkeys: texts(x, "GPGKey"),
    groups,
    conditions,
    urlMap: [],
  };
  for (const arch of src.arches) {
    const comps = url ? src.components : [null];
    for (const component of comps) {
      const m = {
        version: src.version,
        component,
        arch,
        debsrc: src.debsrc,
        baseurl: url || rawurl,
        url: url ? `${url}${src.version}/${component}/${arch}/` : rawurl,
      };
      src.urlMap.push({ ...m, name: repoName(src, m) });
    }
  }
  return src;
}

/**
 * Every <Source> of a parsed sources.xml (after XIncludes), in document order. A source that cannot
 * be used is reported through `bad` and left out, as upstream logs and skips it.
 */
export function parseSources(root: XmlElement, path: string, bad: (msg: string) => void = () => undefined): AptSource[] {
  if (root.tag !== "Sources") throw new VacfgError("REPO_FILE", `${path}:${root.line ?? 1}: root element is <${root.tag}>, expected <Sources>`);
  const out: AptSource[] = [];
  const walk = (e: XmlElement, ancestors: XmlElement[]) => {
    for (const c of e.children) {
      if (c.tag === "Source") {
        try {
          out.push(sourceFromXml(c, [root, ...ancestors], path));
        } catch (e) {
          bad((e as Error).message);
        }
      }
      // Upstream's `.//Source` finds sources inside sources too (the schema does not allow them).
      walk(c, [...ancestors, c]);
    }
  };
  walk(root, []);
  return out;
}

/** upstream Source.applies: the client is in one of the source's Arch groups and every condition holds. */
export function sourceApplies(src: AptSource, meta: ClientMetadata): boolean {
  return src.arches.some((a) => meta.groups.has(a)) && src.conditions.every((c) => c(meta));
}

/** The Packages.gz URLs of a source, components outer, arches inner (upstream AptSource.urls). */
export function indexUrls(src: AptSource): string[] {
  if (src.rawurl) return [`${src.rawurl}Packages.gz`];
  return src.components.flatMap((c) => src.arches.map((a) => `${src.url}dists/${src.version}/${c}/binary-${a}/Packages.gz`));
}

/** The architecture an index URL was read for (upstream: the `binary-` part, or the first Arch of a rawurl source). */
export function indexArch(src: AptSource, url: string): string {
  if (src.rawurl) return src.arches[0] ?? "";
  return /\/binary-([^/]+)\//.exec(url)?.[1] ?? "";
}
