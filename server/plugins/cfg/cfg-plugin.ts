// The Cfg plugin (Generator role): serves Path entries from Cfg/<abs path>/ directories,
// choosing the most specific file per client, with info.xml metadata and templates.
import { join, posix, relative } from "node:path";
import { statSync } from "node:fs";
import { VacfgError } from "../../../protocol/errors.js";
import { namesOnlyItself, type XmlElement } from "../../../protocol/xml.js";
import { DirCache, FileCache } from "../../core/file-cache.js";
import type { PluginContext } from "../../core/context.js";
import type { ClientMetadata } from "../../core/metadata.js";
import type { GeneratorRole, Plugin, PullChoice, PulledEntry, PullTargetRole } from "../../core/roles.js";
import { classifyCfgFile, type CfgFile } from "./cfg-files.js";
import { isIgnoredName } from "../shared/ignored-names.js";
import { DEFAULT_PATH_METADATA, withDefaultPathMetadata, parseInfoXml, parseLegacyInfo, type FileInfoSource } from "./file-info.js";
import { compileJinja2, type CompiledTemplate } from "./jinja2-template.js";
import { compileGenshi } from "../../templates/genshi/text.js";
import { compileCheetah } from "../../templates/cheetah/template.js";
import { parsePlainFile, plainDataOf, type PlainData } from "./plain-file.js";
import { decryptWithAny, elementDecryptor } from "../shared/encryption.js";
import { bestMatching } from "../shared/specificity.js";
import { parseRepoXml } from "../shared/xml-match.js";
import { needsQuery, noteQueryUse, prepareQuery, templateVars } from "../shared/template-data/template-data.js";
import { KeyCreators, sshKeyOptions } from "./key-creators.js";
import { SslCreators } from "./ssl-creators.js";
import { renderAuthorizedKeys } from "./authorized-keys.js";
import { confinedPath } from "../shared/confined-path.js";
import { cfgAcceptPullData, cfgPullChoices } from "./cfg-pull.js";

type GeneratorFile = Extract<CfgFile, { role: "generator" }>;

/** What one directory holds, classified once per listing (the DirCache returns the same array while unchanged). */
interface DirScan {
  files: CfgFile[];
  /** Derived from `files` once per listing, not per entry bound: */
  generators: GeneratorFile[];
  /** The info file (info.xml before :info). */
  info?: Extract<CfgFile, { role: "info" }>;
  /** sslcert.xml, which also verifies the certificate it made. */
  sslcert?: CfgFile;
  subdirs: string[];
  /** The directory holds at least one (non-ignored) file: it is a Cfg entry. */
  isEntry: boolean;
}

type TemplateKind = "jinja2" | "genshi" | "cheetah";

/** Data produced for an entry, before encoding. */
interface Generated {
  text: string;
  binary: boolean;
}

/** The generated data as the entry's text (base64 when binary or asked for), in upstream's attribute order. */
function setData(entry: XmlElement, data: Generated): void {
  let text = data.text;
  if (entry.attrs.encoding === "base64") {
    if (!data.binary) text = Buffer.from(text, "utf8").toString("base64");
  } else if (data.binary) {
    // encoding goes before type, where upstream puts an info.xml encoding="base64"
    const type = entry.attrs.type;
    delete entry.attrs.type;
    entry.attrs.encoding = "base64";
    if (type !== undefined) entry.attrs.type = type;
  }
  if (text) {
    entry.text = text;
    delete entry.attrs.empty;
  } else {
    delete entry.text;
    entry.attrs.empty = "true";
  }
}

export class CfgPlugin implements Plugin, GeneratorRole, PullTargetRole {
  readonly name = "Cfg";
  readonly root: string;
  /** Parses done by this plugin's caches (tests and the bench read it: unchanged files are never re-parsed). */
  parseCount = 0;
  private readonly dirs = new DirCache();
  private readonly scans = new WeakMap<string[], DirScan>();
  private readonly plain: FileCache<PlainData>;
  private readonly infoXml: FileCache<FileInfoSource>;
  private readonly legacyInfo: FileCache<FileInfoSource>;
  /** Compiled templates by language; `crypt` holds those of `.crypt` templates (decrypted first). */
  private readonly templates: Record<TemplateKind, { clear: FileCache<CompiledTemplate>; crypt: FileCache<CompiledTemplate> }>;
  /** Decrypted `.crypt` files. */
  private readonly cryptPlain: FileCache<PlainData>;
  private readonly xml: FileCache<XmlElement>;
  private readonly creators: KeyCreators;
  private readonly ssl: SslCreators;

  constructor(private readonly ctx: PluginContext) {
    this.root = join(ctx.settings.repo, "Cfg");
    const counted = <T>(parse: (text: string, path: string) => T) => (text: string, path: string): T => {
      this.parseCount++;
      return parse(text, path);
    };
    this.plain = new FileCache(counted(parsePlainFile));
    this.infoXml = new FileCache(counted(parseInfoXml));
    this.legacyInfo = new FileCache(counted(parseLegacyInfo));
    const compilers: Record<TemplateKind, (text: string, path: string) => CompiledTemplate> = {
      jinja2: (t, p) => compileJinja2(t, p, ctx.settings.repo),
      genshi: compileGenshi,
      cheetah: compileCheetah,
    };
    const cache = (compile: (text: string, path: string) => CompiledTemplate, encrypted: boolean) =>
      new FileCache(
        counted((t, p) => {
          const text = encrypted ? this.decrypt(t, p).toString("utf8") : t;
          return noteQueryUse(compile(text, p), text);
        }),
      );
    this.templates = {
      jinja2: { clear: cache(compilers.jinja2, false), crypt: cache(compilers.jinja2, true) },
      genshi: { clear: cache(compilers.genshi, false), crypt: cache(compilers.genshi, true) },
      cheetah: { clear: cache(compilers.cheetah, false), crypt: cache(compilers.cheetah, true) },
    };
    this.cryptPlain = new FileCache(counted((t, p) => plainDataOf(this.decrypt(t, p))));
    // privkey.xml, sslcert.xml, ...: StructFiles upstream, so `<Passphrase encrypted="NAME">` is decrypted.
    const decrypt = elementDecryptor(ctx.settings.encryption, ctx.logger);
    this.xml = new FileCache(
      counted((t, p) => {
        const root = parseRepoXml(t, p);
        decrypt(root, p);
        return root;
      }),
    );
    this.creators = new KeyCreators(this, (p) => this.xml.get(p), ctx.settings.readOnly ?? false, sshKeyOptions(ctx.settings));
    this.ssl = new SslCreators(this, (p) => this.xml.get(p), ctx.settings, ctx.logger);
  }

  /**
   * Every Cfg entry name (directories holding files), for tag Path; with `under`, only the
   * names below that directory (a walk of that subtree, not of the whole repository).
   */
  entryNames(tag: string, _meta?: ClientMetadata, under = "/"): Set<string> {
    const names = new Set<string>();
    if (tag !== "Path") return names;
    const walk = (dir: string) => {
      const scan = this.scan(dir);
      if (scan.isEntry) names.add("/" + relative(this.root, dir));
      for (const sub of scan.subdirs) walk(join(dir, sub));
    };
    const start = under === "/" ? this.root : this.dirOf(under.replace(/\/+$/, ""));
    if (start !== undefined) walk(start);
    names.delete("/"); // files directly in Cfg/ are not entries
    return names;
  }

  /** Whether `name` is among entryNames("Path"), from its own directory only (GetConfig never walks the tree). */
  servesEntry(tag: string, name: string): boolean {
    if (tag !== "Path") return false;
    const dir = this.dirOf(name);
    return dir !== undefined && this.scan(dir).isEntry;
  }

  handlesEntry(entry: XmlElement): boolean {
    return this.servesEntry(entry.tag, entry.attrs.name ?? "");
  }

  /** Synchronous for plain files and templates without metadata.query; a promise when it has to wait (creators, queries). */
  bindEntry(entry: XmlElement, meta: ClientMetadata): Promise<void> | void {
    const name = entry.attrs.name ?? "";
    const dir = this.dirOf(name);
    const scan = dir === undefined ? undefined : this.scan(dir);
    if (dir === undefined || !scan?.isEntry) throw new VacfgError("REPO_FILE", `Cfg has no directory for ${name}`);
    // Upstream order: default metadata, then info, then type (this fixes the attribute order on the wire).
    this.bindInfo(entry, meta, scan);
    if (entry.tag === "Path") entry.attrs.type = "file";
    const data = this.generate(entry, meta, scan, dir);
    if ("then" in data) return data.then((d) => setData(entry, d));
    setData(entry, data);
  }

  /**
   * Directory of the entry named by an absolute path, or undefined when the walk from Cfg/ would
   * never list that name: not canonical, escaping Cfg/, or passing through an ignored name.
   */
  private dirOf(name: string): string | undefined {
    if (this.dirsByName.has(name)) return this.dirsByName.get(name);
    const dir = this.dirOfUncached(name);
    if (this.dirsByName.size >= 10_000) this.dirsByName.clear(); // names come from the repository; bounded all the same
    this.dirsByName.set(name, dir);
    return dir;
  }

  /** Entry name → its directory (a pure function of the name), asked several times per entry per build. */
  private readonly dirsByName = new Map<string, string | undefined>();

  private dirOfUncached(name: string): string | undefined {
    if (!name.startsWith("/") || name === "/" || name.endsWith("/") || posix.normalize(name) !== name || name.includes("\0")) return undefined;
    if (name.slice(1).split("/").some(isIgnoredName)) return undefined;
    return join(this.root, name);
  }

  private scan(dir: string): DirScan {
    // The classification of a listing is made out of line: this is inlined where every entry binds.
    const listing = this.dirs.list(dir);
    return this.scans.get(listing) ?? this.scanListing(dir, listing);
  }

  private scanListing(dir: string, listing: string[]): DirScan {
    const base = dir.slice(dir.lastIndexOf("/") + 1);
    const scan: DirScan = { files: [], generators: [], subdirs: [], isEntry: false };
    for (const n of listing) {
      if (isIgnoredName(n)) continue;
      const path = join(dir, n);
      let isDir: boolean;
      try {
        isDir = statSync(path).isDirectory();
      } catch {
        continue;
      }
      if (isDir) {
        scan.subdirs.push(n);
        continue;
      }
      scan.isEntry = true;
      const f = classifyCfgFile(base, n, path);
      if (f) scan.files.push(f);
      else this.ctx.logger.debug({ path }, "Cfg: no handler for file; ignoring");
    }
    scan.generators = scan.files.filter((f): f is GeneratorFile => f.role === "generator");
    const infos = scan.files.filter((f): f is Extract<CfgFile, { role: "info" }> => f.role === "info");
    scan.info = infos.find((f) => f.kind === "infoxml") ?? infos[0];
    scan.sslcert = scan.files.find((f) => f.role === "creator" && f.kind === "sslcert");
    this.scans.set(listing, scan);
    return scan;
  }

  private bindInfo(entry: XmlElement, meta: ClientMetadata, scan: DirScan): void {
    // Index loops: no iterator per entry while this runs unoptimized (every build binds here).
    if (namesOnlyItself(entry.attrs)) entry.attrs = withDefaultPathMetadata(entry.attrs.name!);
    else for (let i = 0; i < DEFAULT_PATH_METADATA.length; i++) entry.attrs[DEFAULT_PATH_METADATA[i]![0]] = DEFAULT_PATH_METADATA[i]![1];
    const info = this.infoOf(scan);
    if (!info) return;
    const attrs = info.attributesFor(entry.attrs.realname ?? entry.attrs.name ?? "", meta);
    for (let i = 0; i < attrs.length; i++) entry.attrs[attrs[i]![0]] = attrs[i]![1];
  }

  /** The entry's info file (info.xml before :info), parsed; undefined when it has none. */
  private infoOf(scan: DirScan): FileInfoSource | undefined {
    const source = scan.info;
    if (!source) return undefined;
    return source.kind === "infoxml" ? this.infoXml.get(source.path) : this.legacyInfo.get(source.path); // undefined: deleted since the listing
  }

  /** The entry's directory listing for bcfg2-admin pull (an entry Cfg does not serve is refused). */
  private pullScan(name: string): { dir: string; scan: DirScan } {
    const dir = this.dirOf(name);
    const scan = dir === undefined ? undefined : this.scan(dir);
    if (dir === undefined || !scan?.isEntry) throw new VacfgError("PULL", `Cfg has no directory for ${name}`);
    return { dir, scan };
  }

  acceptChoices(entry: PulledEntry, meta: ClientMetadata): PullChoice[] {
    return cfgPullChoices(entry.name, this.pullScan(entry.name).scan.files, meta);
  }

  async acceptPullData(choice: PullChoice, entry: PulledEntry, meta: ClientMetadata): Promise<string[]> {
    const { dir, scan } = this.pullScan(entry.name);
    const info = this.infoOf(scan);
    return cfgAcceptPullData({ dir, basename: dir.slice(dir.lastIndexOf("/") + 1), files: scan.files, ...(info ? { info } : {}) }, choice, entry, meta);
  }

  private generate(entry: XmlElement, meta: ClientMetadata, scan: DirScan, dir: string): Generated | Promise<Generated> {
    // sslcert.xml is also upstream's verifier of the certificate it made: checked, issued again when it no longer holds.
    const sslcert = scan.sslcert;
    return sslcert ? this.checkedCert(entry, meta, scan, dir, sslcert.path) : this.generateData(entry, meta, scan, dir);
  }

  private async checkedCert(entry: XmlElement, meta: ClientMetadata, scan: DirScan, dir: string, sslcert: string): Promise<Generated> {
    const data = await this.generateData(entry, meta, scan, dir);
    return data.created ? data : { text: await this.ssl.checkedCert(sslcert, data.text, meta), binary: false };
  }

  /** A file created for the client (keys, certificates) when no file matches it. */
  private async create(entry: XmlElement, meta: ClientMetadata, files: CfgFile[], dir: string): Promise<Generated & { created?: boolean }> {
    const creator = files.find((f) => f.role === "creator");
    if (creator?.kind === "sslkey") return { text: await this.ssl.createKey(creator.path, meta), binary: false, created: true };
    if (creator?.kind === "sslcert") return { text: await this.ssl.createCert(creator.path, meta), binary: false, created: true };
    if (creator) return { text: await this.creators.create(creator.kind, creator.path, entry, meta), binary: false, created: true };
    throw new VacfgError("REPO_FILE", `No matching entries available for ${dir} for ${meta.hostname}`);
  }

  private generateData(entry: XmlElement, meta: ClientMetadata, scan: DirScan, dir: string): (Generated & { created?: boolean }) | Promise<Generated & { created?: boolean }> {
    const name = entry.attrs.name ?? "";
    const best = bestMatching(scan.generators, meta);
    if (!best) return this.create(entry, meta, scan.files, dir);
    // A host-specific file is chosen by the client's name: read it only when it resolves inside the entry directory.
    if (best.spec.kind === "host") confinedPath(dir, best.name);
    const failRendering = (e: unknown): never => {
      throw new VacfgError("REPO_TEMPLATE", `Cfg: Error rendering ${name}: ${(e as Error).message}`, { cause: e });
    };
    switch (best.kind) {
      case "plain": {
        const data = best.encrypted ? this.cryptPlain.get(best.path) : this.plain.get(best.path);
        if (!data) throw new VacfgError("REPO_FILE", `${best.path} disappeared while binding ${name}`);
        return data;
      }
      case "jinja2":
      case "genshi":
      case "cheetah": {
        let tmpl: CompiledTemplate | undefined;
        try {
          const caches = this.templates[best.kind];
          tmpl = (best.encrypted ? caches.crypt : caches.clear).get(best.path);
          if (!tmpl) throw new VacfgError("REPO_FILE", `${best.path} disappeared while binding ${name}`);
        } catch (e) {
          return failRendering(e);
        }
        const template = tmpl;
        const kind = best.kind;
        const render = (): Generated => {
          try {
            // Upstream's Genshi provider sets path to the template file; Jinja2's and Cheetah's to the entry name.
            const vars = templateVars(entry, meta, best.path, this.ctx.settings.repo, kind === "genshi" ? "template" : "entry");
            return { text: template.render(vars), binary: false };
          } catch (e) {
            return failRendering(e);
          }
        };
        // Only a template that uses metadata.query waits (for the other clients' metadata).
        return needsQuery(template) ? prepareQuery(meta, this.ctx).then(render, failRendering) : render();
      }
      case "authorizedkeys": {
        const spec = this.xml.get(best.path);
        if (!spec) throw new VacfgError("REPO_FILE", `${best.path} disappeared while binding ${name}`);
        return renderAuthorizedKeys(spec, meta, this, this.ctx).then((text) => ({ text, binary: false }));
      }
    }
  }

  /**
   * A `.crypt` file's plaintext, trying each [encryption] passphrase as upstream's bruteforce_decrypt.
   * With lax_decryption a file that does not decrypt is served as it is (upstream keeps its data), logged.
   */
  private decrypt(text: string, path: string): Buffer {
    const enc = this.ctx.settings.encryption;
    const opened = enc ? decryptWithAny(text, enc) : undefined;
    if (opened) return opened.plaintext;
    const why = enc?.passphrases.size ? "no [encryption] passphrase opens it" : "vacfg.conf has no [encryption] passphrases";
    if (enc?.lax) {
      this.ctx.logger.warn({ path }, `Cfg: Failed to decrypt ${path} (${why}); lax_decryption serves it as it is`);
      return Buffer.from(text, "utf8");
    }
    throw new VacfgError("DECRYPT", `Cfg: Failed to decrypt ${path}: ${why}`);
  }
}
