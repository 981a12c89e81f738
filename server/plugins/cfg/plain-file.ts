// Plain Cfg files as bytes-or-text: valid UTF-8 is served as text, anything else as base64
// (upstream needs encoding="base64" in info.xml; we detect it).
import { readFileSync } from "node:fs";

export interface PlainData {
  text: string;
  /** True when the file is not valid UTF-8: `text` is then its base64 encoding. */
  binary: boolean;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** FileCache parser: the cache reads files as UTF-8; a U+FFFD means "look at the bytes". */
export function parsePlainFile(text: string, path: string): PlainData {
  if (!text.includes("\uFFFD")) return { text, binary: false };
  const bytes = readFileSync(path);
  try {
    return { text: strictUtf8.decode(bytes), binary: false };
  } catch {
    return { text: bytes.toString("base64"), binary: true };
  }
}
