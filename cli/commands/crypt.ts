// `vacfg crypt`: bcfg2-crypt. Encrypts and decrypts Cfg files (FILE ↔ FILE.crypt) and Properties
// elements with the named passphrases of vacfg.conf's [encryption] section.
import { readFileSync, readSync } from "node:fs";
import type { Command } from "commander";
import { withExamples } from "../help.js";
import { parseIni } from "../../lib/ini.js";
import { encryptionSettings } from "../../server/plugins/shared/encryption.js";
import { cryptFile, type CryptOptions } from "../../server/admin/crypt-files.js";

interface CryptCliOptions {
  config?: string;
  encrypt?: boolean;
  decrypt?: boolean;
  passphrase?: string;
  stdout?: boolean;
  properties?: boolean;
  cfg?: boolean;
  xpath?: string;
  remove?: boolean;
  interactive?: boolean;
}

/** One answer from stdin, read synchronously (encryption runs element by element between questions). */
function readAnswer(): string {
  const byte = Buffer.alloc(1);
  let line = "";
  for (;;) {
    let n: number;
    try {
      n = readSync(0, byte, 0, 1, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
      if ((e as NodeJS.ErrnoException).code === "EOF") return line;
      throw e;
    }
    if (n === 0 || byte[0] === 0x0a) return line;
    line += byte.toString("latin1");
  }
}

/** bcfg2-crypt -I: each element shown, then "Encrypt this element? [y/N] " (on stderr: stdout may carry --stdout's result). */
function confirmElement(element: string): boolean {
  process.stderr.write(`${element}\nEncrypt this element? [y/N] `);
  return readAnswer().trim().toLowerCase().startsWith("y");
}

const HELP = `
As bcfg2-crypt: the passphrases are the keys of the [encryption] section of vacfg.conf
(NAME = passphrase; "algorithm" and "lax_decryption" are settings, not passphrases).
A Cfg file FILE is encrypted whole into FILE.crypt; FILE.crypt decrypts back to FILE. A
Properties file (.xml with root <Properties>) is edited in place: the elements with
encrypted="NAME" (or --xpath, or else every element with text) get their text encrypted with
passphrase NAME (or -p NAME); with -I each of those elements is shown first and encrypted only when
answered y (Properties files only, not when decrypting). Without --encrypt or --decrypt a file that decrypts is decrypted,
any other is encrypted. The format is OpenSSL's (openssl enc -aes-256-cbc -md md5 -a), so
files made by upstream's bcfg2-crypt and by vacfg crypt are interchangeable.
Exit status 1 when a file could not be handled (the others still are).`;

export function registerCrypt(program: Command): void {
  const cmd = program
    .command("crypt")
    .description("encrypt and decrypt Cfg files and Properties elements (bcfg2-crypt)")
    .argument("<files...>", "file(s) to encrypt or decrypt")
    .requiredOption("-c, --config <file>", "vacfg.conf (bcfg2.conf) holding the [encryption] passphrases")
    .option("--encrypt", "encrypt the specified file(s)")
    .option("--decrypt", "decrypt the specified file(s)")
    .option("-p, --passphrase <name>", "encryption passphrase name")
    .option("--stdout", "print the result instead of writing it")
    .option("--properties", "handle the file(s) as Properties files")
    .option("--cfg", "handle the file(s) as Cfg files")
    .option("--xpath <expr>", "Properties: XPath expression selecting the elements to encrypt")
    .option("-I, --interactive", "Properties, encrypting: ask for each element whether to encrypt it")
    .option("--remove", "Cfg: remove the plaintext file after encrypting")
    .addHelpText("after", HELP)
    .action((files: string[], o: CryptCliOptions) => {
      if (o.encrypt && o.decrypt) throw new Error("--encrypt and --decrypt cannot be combined");
      if (o.properties && o.cfg) throw new Error("--properties and --cfg cannot be combined");
      if (o.decrypt && o.remove) throw new Error("--remove cannot be used with --decrypt");
      const configPath = o.config!;
      const ini = parseIni(readFileSync(configPath, "utf8"), configPath);
      const settings = encryptionSettings(ini.get("encryption"), configPath);
      const opts: CryptOptions = {
        configPath,
        ...(o.encrypt ? { mode: "encrypt" as const } : o.decrypt ? { mode: "decrypt" as const } : {}),
        ...(o.passphrase !== undefined ? { passphrase: o.passphrase } : {}),
        ...(o.properties ? { type: "properties" as const } : o.cfg ? { type: "cfg" as const } : {}),
        ...(o.xpath !== undefined ? { xpath: o.xpath } : {}),
        stdout: !!o.stdout,
        remove: !!o.remove,
        ...(o.interactive ? { confirm: confirmElement } : {}),
      };
      let failed = 0;
      for (const file of files) {
        try {
          const r = cryptFile(file, settings, opts);
          for (const n of r.notes) process.stderr.write(`vacfg crypt: ${n}\n`);
          if (opts.stdout) {
            if (files.length > 1) process.stdout.write(`----- ${file} -----\n`);
            process.stdout.write(r.data.endsWith("\n") ? r.data : r.data + "\n");
            if (files.length > 1) process.stdout.write("\n");
          } else process.stderr.write(`vacfg crypt: ${r.mode}ed ${r.type === "cfg" ? "Cfg" : "Properties"} file ${file}, wrote ${r.wrote}\n`);
        } catch (e) {
          failed++;
          process.stderr.write(`vacfg crypt: ${(e as Error).message}; skipping ${file}\n`);
        }
      }
      if (failed) process.exitCode = 1;
    });
  withExamples(cmd, [
    "vacfg crypt -c site/vacfg.conf --encrypt -p prod repo/Cfg/etc/shadow/shadow",
    "vacfg crypt -c site/vacfg.conf --decrypt --stdout repo/Cfg/etc/shadow/shadow.crypt",
    "vacfg crypt -c site/vacfg.conf --encrypt repo/Properties/secrets.xml   # elements with encrypted=NAME",
  ]);
}
