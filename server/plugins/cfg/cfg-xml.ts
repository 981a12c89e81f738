// Parsing Cfg's own XML files (privkey.xml, pubkey.xml, authorizedkeys.xml) with file:line errors.
import { parseXml, type XmlElement } from "../../../protocol/xml.js";
import { VacfgError } from "../../../protocol/errors.js";

export function parseCfgXml(text: string, path: string): XmlElement {
  try {
    return parseXml(text, { source: path });
  } catch (e) {
    throw new VacfgError("REPO_FILE", (e as Error).message, { cause: e });
  }
}
