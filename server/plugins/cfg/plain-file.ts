// Plain Cfg files as bytes-or-text: valid UTF-8 is served as text, anything else as base64
// (upstream needs encoding="base64" in info.xml; we detect it). Text holding characters XML 1.0
// forbids (NUL, ESC, …) is base64 too: no XML document can carry them.
import { readFileSync } from "node:fs";
import { XML_FORBIDDEN } from "../../../protocol/xml.js";

export interface PlainData {
  text: string;
  /** True when the file is not valid UTF-8 or holds characters XML forbids: `text` is then its base64 encoding. */
  binary: boolean;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** FileCache parser: the cache reads files as UTF-8; a U+FFFD means "look at the bytes". */
export function parsePlainFile(text: string, path: string): PlainData {
  if (!text.includes("\uFFFD") && !XML_FORBIDDEN.test(text)) return { text, binary: false };
  return plainDataOf(readFileSync(path));
}

/** Bytes (a file, or a decrypted `.crypt` file) as text when XML can carry them, else base64. */
export function plainDataOf(bytes: Buffer): PlainData {
  try {
    const exact = strictUtf8.decode(bytes);
    if (!XML_FORBIDDEN.test(exact)) return { text: exact, binary: false };
  } catch {
    // not UTF-8: base64 below
  }
  return { text: bytes.toString("base64"), binary: true };
}
