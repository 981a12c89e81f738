// A bundle the server could not build is still sent, as a bundle holding one entry with
// failure="…" (Bcfg2's mark for an entry it could not bind), so the client reports it as bad and
// its run is not clean, instead of the bundle vanishing without a word.
import { el, type XmlElement } from "../../protocol/xml.js";

/**
 * `<Bundle name=NAME><Action name="bundle:NAME" failure=REASON …/></Bundle>`. An Action because
 * every Bcfg2 client has a tool for it that refuses entries with failure= ("reports bind
 * failure"); it has no command, so no client could ever run it. Its name says which bundle,
 * and is no path a client could act on.
 */
export function failureBundle(name: string, reason: string, entryName = `bundle:${name}`): XmlElement {
  return el("Bundle", { name }, [el("Action", { name: entryName, timing: "post", when: "modified", status: "check", failure: reason })]);
}

/** Error text with absolute repository paths made relative ("/srv/repo/Bundler/a.xml:3: …" → "Bundler/a.xml:3: …"). */
export function repoRelativeMessage(message: string, repo: string): string {
  const prefix = repo.endsWith("/") ? repo : `${repo}/`;
  return message.split(prefix).join("");
}
