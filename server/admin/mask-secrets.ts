// What `vacfg info` does not print unless asked (--show-secrets): the contents of private keys,
// of files marked sensitive="true", and of files that are not world-readable on the client
// (mode without the other-read bit: shadow files, keys, passwords).
import type { XmlElement } from "../../protocol/xml.js";

const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

function isSecret(e: XmlElement): boolean {
  if (e.text === undefined || e.text === "") return false;
  if ((e.attrs.sensitive ?? "").toLowerCase() === "true") return true;
  const text = e.attrs.encoding === "base64" ? Buffer.from(e.text, "base64").toString("latin1") : e.text;
  if (PRIVATE_KEY.test(text)) return true;
  const mode = e.attrs.mode;
  return e.tag === "Path" && mode !== undefined && /^[0-7]+$/.test(mode) && (parseInt(mode, 8) & 0o004) === 0;
}

/** Replaces secret contents in place with a note; returns how many entries were masked. */
export function maskSecrets(root: XmlElement): number {
  let n = 0;
  const walk = (e: XmlElement) => {
    if (isSecret(e)) {
      e.text = `[${Buffer.byteLength(e.text ?? "", "utf8")} bytes of secret content masked; --show-secrets prints them]`;
      n++;
    }
    e.children.forEach(walk);
  };
  walk(root);
  return n;
}
