// `vacfg crypt`: bcfg2-crypt's file handling. A Cfg file is encrypted whole into FILE.crypt (and
// decrypted back to FILE); a Properties file (an .xml file whose root is <Properties>) has its
// elements' text encrypted in place, marked encrypted="NAME". The file is edited as a DOM, so its
// comments, white space and attribute order stay as the admin wrote them.
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { DOMParser, XMLSerializer, type Element as DomElement, type Node as DomNode } from "@xmldom/xmldom";
import xpath from "xpath";
import { VacfgError } from "../../protocol/errors.js";
import { writeFileAtomic } from "../../lib/atomic-file.js";
import type { EncryptionSettings } from "../core/context.js";
import { decryptWithAny, isEncrypted, namedPassphrase, sslDecrypt, sslEncrypt } from "../plugins/shared/encryption.js";

export interface CryptOptions {
  /** Unset: decrypt when the file decrypts, else encrypt (as bcfg2-crypt without --encrypt/--decrypt). */
  mode?: "encrypt" | "decrypt";
  /** -p NAME: the passphrase to use (else the only one, or, to decrypt, each in turn). */
  passphrase?: string;
  /** Force the file type instead of guessing it from the file. */
  type?: "properties" | "cfg";
  /** Properties: the elements to handle (default: those with encrypted=, else every element with text). */
  xpath?: string;
  /** Print the result instead of writing it. */
  stdout?: boolean;
  /** Cfg, encrypt: remove the plaintext file after writing FILE.crypt. */
  remove?: boolean;
  /**
   * -I (Properties, encrypting): asked for each element about to be encrypted, shown as its XML
   * without child elements; false leaves the element as it is (bcfg2-crypt's "Encrypt this element?").
   */
  confirm?: (element: string) => boolean;
  /** Where the passphrases come from, for messages. */
  configPath: string;
}

export interface CryptResult {
  mode: "encrypt" | "decrypt";
  type: "properties" | "cfg";
  /** The file written (absent with stdout). */
  wrote?: string;
  /** The result's text (always set; what --stdout prints). */
  data: string;
  /** Per-element notes (elements skipped). */
  notes: string[];
}

function fail(msg: string): never {
  throw new VacfgError("DECRYPT", msg);
}

/** bcfg2-crypt's _get_passphrase: -p NAME, else the only passphrase, else undefined (several). */
function chosenPassphrase(settings: EncryptionSettings, opts: CryptOptions): { name: string; passphrase: string } | undefined {
  if (settings.passphrases.size === 0) fail(`No passphrases available in ${opts.configPath} (add an [encryption] section: NAME = passphrase)`);
  if (opts.passphrase !== undefined) return { name: opts.passphrase.toLowerCase(), passphrase: namedPassphrase(settings, opts.passphrase, opts.configPath) };
  if (settings.passphrases.size === 1) {
    const [name, passphrase] = [...settings.passphrases][0]!;
    return { name, passphrase };
  }
  return undefined;
}

function isPropertiesFile(file: string, text: string, opts: CryptOptions): boolean {
  if (opts.type) return opts.type === "properties";
  if (!file.endsWith(".xml")) return false;
  const doc = parseDom(text, file, true);
  return doc?.documentElement?.tagName === "Properties";
}

function parseDom(text: string, file: string, quiet = false): ReturnType<DOMParser["parseFromString"]> | undefined {
  let error = "";
  const parser = new DOMParser({
    onError: (level: string, msg: string) => {
      if (level !== "warning" && !error) error = msg.split("\n")[0]!;
    },
  } as ConstructorParameters<typeof DOMParser>[0]);
  try {
    const doc = parser.parseFromString(text, "text/xml");
    if (!error && doc.documentElement) return doc;
  } catch (e) {
    error ||= (e as Error).message.split("\n")[0]!;
  }
  if (quiet) return undefined;
  return fail(`${file}: not well-formed XML: ${error || "no root element"}`);
}

/** lxml's element.text: the text before the first child element (white space counts as none here). */
function leadingText(el: DomElement): string | undefined {
  let text = "";
  for (let n = el.firstChild; n && n.nodeType !== 1; n = n.nextSibling) if (n.nodeType === 3 || n.nodeType === 4) text += n.nodeValue ?? "";
  return text.trim() === "" ? undefined : text;
}

function setLeadingText(el: DomElement, text: string): void {
  const doc = el.ownerDocument!;
  while (el.firstChild && el.firstChild.nodeType !== 1) el.removeChild(el.firstChild);
  el.insertBefore(doc.createTextNode(text), el.firstChild);
}

function describe(el: DomElement): string {
  return `<${el.tagName}> (line ${(el as unknown as { lineNumber?: number }).lineNumber ?? "?"})`;
}

function propertiesElements(doc: ReturnType<DOMParser["parseFromString"]>, file: string, opts: CryptOptions, notes: string[]): DomElement[] {
  const select = (expr: string): DomElement[] => {
    try {
      return (xpath.select(expr, doc as unknown as Node) as unknown as DomNode[]).filter((n): n is DomElement => n.nodeType === 1);
    } catch (e) {
      return fail(`--xpath "${expr}": ${(e as Error).message}`);
    }
  };
  let els: DomElement[];
  if (opts.xpath) {
    els = select(opts.xpath);
    if (els.length === 0) notes.push(`${file}: XPath expression ${opts.xpath} matched no elements`);
  } else {
    els = select("//*[@encrypted]");
    if (els.length === 0) els = select("//*");
  }
  return els.filter((el) => leadingText(el) !== undefined);
}

/** _get_element_passphrase: the element's own encrypted="NAME" when configured, else -p / the only one. */
function elementPassphrase(el: DomElement, settings: EncryptionSettings, chosen: ReturnType<typeof chosenPassphrase>, opts: CryptOptions, notes: string[]) {
  const own = el.getAttribute("encrypted");
  if (own && settings.passphrases.has(own.toLowerCase())) return { name: own, passphrase: settings.passphrases.get(own.toLowerCase())! };
  if (own) notes.push(`Passphrase ${own} not found in ${opts.configPath}, using passphrase given on command line`);
  if (chosen) return chosen;
  return fail(`Multiple passphrases found in ${opts.configPath}, specify one on the command line with -p (for ${describe(el)})`);
}

function serialize(doc: ReturnType<DOMParser["parseFromString"]>, original: string): string {
  const out = new XMLSerializer().serializeToString(doc as unknown as DomNode);
  return original.endsWith("\n") && !out.endsWith("\n") ? out + "\n" : out;
}

/** The element as -I shows it: its attributes and text, without child elements (upstream copies and strips it). */
function shownElement(el: DomElement): string {
  const copy = el.cloneNode(false) as DomElement;
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 3 || n.nodeType === 4) copy.appendChild(n.cloneNode(false));
  return new XMLSerializer().serializeToString(copy as unknown as DomNode).trim();
}

function encryptProperties(file: string, text: string, settings: EncryptionSettings, opts: CryptOptions, notes: string[]): string {
  const doc = parseDom(text, file)!;
  const chosen = chosenPassphrase(settings, opts);
  let elements = propertiesElements(doc, file, opts, notes);
  if (opts.confirm) elements = elements.filter((el) => opts.confirm!(shownElement(el)));
  for (const el of elements) {
    const plain = leadingText(el)!;
    if (isEncrypted(plain)) fail(`Element is already encrypted: ${describe(el)}`);
    const { name, passphrase } = elementPassphrase(el, settings, chosen, opts, notes);
    setLeadingText(el, sslEncrypt(plain, passphrase, settings.algorithm).trim());
    el.setAttribute("encrypted", name);
  }
  return serialize(doc, text);
}

function decryptProperties(file: string, text: string, settings: EncryptionSettings, opts: CryptOptions, notes: string[]): string {
  const doc = parseDom(text, file)!;
  const chosen = chosenPassphrase(settings, opts);
  let any = false;
  for (const el of propertiesElements(doc, file, opts, notes)) {
    const { name, passphrase } = elementPassphrase(el, settings, chosen, opts, notes);
    const plain = sslDecrypt(leadingText(el)!, passphrase, settings.algorithm);
    let decoded: string | undefined;
    try {
      decoded = plain && new TextDecoder("utf-8", { fatal: true }).decode(plain);
    } catch {
      notes.push(`Decrypted ${describe(el)} to gibberish, skipping`);
      continue;
    }
    if (decoded === undefined) {
      notes.push(`Could not decrypt ${describe(el)}, skipping`);
      continue;
    }
    setLeadingText(el, decoded.trim());
    el.setAttribute("encrypted", name);
    any = true;
  }
  if (!any) fail(`Failed to decrypt any data in ${file}`);
  return serialize(doc, text);
}

function encryptCfg(file: string, text: Buffer, settings: EncryptionSettings, opts: CryptOptions): string {
  const chosen = chosenPassphrase(settings, opts);
  if (!chosen) fail(`Multiple passphrases found in ${opts.configPath}, specify one on the command line with -p`);
  if (isEncrypted(text.toString("latin1"))) fail(`${file}: data is already encrypted`);
  return sslEncrypt(text, chosen.passphrase, settings.algorithm);
}

function decryptCfg(file: string, text: Buffer, settings: EncryptionSettings, opts: CryptOptions): Buffer {
  const chosen = chosenPassphrase(settings, opts);
  const data = text.toString("latin1");
  if (chosen) return sslDecrypt(data, chosen.passphrase, settings.algorithm) ?? fail(`Could not decrypt ${file} with the specified passphrase`);
  return decryptWithAny(data, settings)?.plaintext ?? fail(`Could not decrypt ${file} with any passphrase`);
}

/** Encrypts or decrypts one file as bcfg2-crypt does; throws a DECRYPT error naming the file when it cannot. */
export function cryptFile(file: string, settings: EncryptionSettings, opts: CryptOptions): CryptResult {
  if (!existsSync(file)) fail(`${file} does not exist`);
  const bytes = readFileSync(file);
  const fileMode = statSync(file).mode & 0o7777;
  const text = bytes.toString("utf8");
  const type = isPropertiesFile(file, text, opts) ? "properties" : "cfg";
  const notes: string[] = [];
  let mode = opts.mode;
  if (opts.confirm && (mode === "decrypt" || type === "cfg")) {
    notes.push(mode === "decrypt" ? "Cannot decrypt interactively" : "Cannot use interactive mode with --cfg, ignoring --interactive");
    opts = { ...opts };
    delete opts.confirm;
  }
  if (type === "properties") {
    if (opts.remove) notes.push(`Cannot use --remove with Properties file ${file}, ignoring for this file`);
    let data: string;
    if (mode === undefined) {
      try {
        data = decryptProperties(file, text, settings, opts, notes);
        mode = "decrypt";
      } catch {
        mode = "encrypt";
        data = encryptProperties(file, text, settings, opts, notes);
      }
    } else data = mode === "encrypt" ? encryptProperties(file, text, settings, opts, notes) : decryptProperties(file, text, settings, opts, notes);
    if (!opts.stdout) writeFileAtomic(file, data, { mode: fileMode });
    return { mode, type, data, notes, ...(opts.stdout ? {} : { wrote: file }) };
  }
  if (opts.xpath) notes.push("Specifying --xpath with --cfg is nonsensical, ignoring --xpath");
  let out: Buffer;
  if (mode === undefined) {
    try {
      out = decryptCfg(file, bytes, settings, opts);
      mode = "decrypt";
    } catch {
      mode = "encrypt";
      out = Buffer.from(encryptCfg(file, bytes, settings, opts), "utf8");
    }
  } else out = mode === "encrypt" ? Buffer.from(encryptCfg(file, bytes, settings, opts), "utf8") : decryptCfg(file, bytes, settings, opts);
  const dest = mode === "encrypt" ? file + ".crypt" : file.endsWith(".crypt") ? file.slice(0, -".crypt".length) : file;
  if (!opts.stdout) {
    writeFileAtomic(dest, out, { mode: fileMode });
    if (opts.remove && mode === "encrypt" && dest !== file) rmSync(file);
  }
  return { mode, type, data: out.toString("utf8"), notes, ...(opts.stdout ? {} : { wrote: dest }) };
}
