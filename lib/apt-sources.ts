// apt's sources (one-line sources.list and deb822 .sources files) as apt reads them, for the
// appliance build (which mirror debootstrap must use) and the agent (whether a root's package lists
// are as new as their archives).
import { promises as fsp } from "node:fs";
import { join } from "node:path";

export interface AptSource {
  uri: string;
  /** A flat repository has one "suite" ending in "/" (e.g. "./") and no components. */
  suites: string[];
  components: string[];
  file: string;
}

/** Parses one-line ("deb URI SUITE COMP...") and deb822 (Types/URIs/Suites) sources. */
export function parseAptSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  if (file.endsWith(".sources")) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const f = new Map<string, string>();
      for (const line of stanza.split("\n")) {
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
        if (m) f.set(m[1].toLowerCase(), m[2].trim());
      }
      if (!(f.get("types") ?? "").split(/\s+/).includes("deb") || /^no$/i.test(f.get("enabled") ?? "")) continue;
      for (const uri of (f.get("uris") ?? "").split(/\s+/).filter(Boolean)) {
        out.push({ uri, suites: (f.get("suites") ?? "").split(/\s+/).filter(Boolean), components: (f.get("components") ?? "").split(/\s+/).filter(Boolean), file });
      }
    }
  } else {
    for (const raw of text.split("\n")) {
      const line = raw.replace(/#.*/, "").trim();
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
      if (m) out.push({ uri: m[1], suites: [m[2]], components: m[3].split(/\s+/).filter(Boolean), file });
    }
  }
  return out;
}

export async function readAptSources(root = "/etc/apt"): Promise<AptSource[]> {
  const files = [join(root, "sources.list")];
  const dir = join(root, "sources.list.d");
  for (const f of (await fsp.readdir(dir).catch(() => [] as string[])).sort()) {
    if (f.endsWith(".list") || f.endsWith(".sources")) files.push(join(dir, f));
  }
  const sources: AptSource[] = [];
  for (const f of files) {
    const text = await fsp.readFile(f, "utf8").catch(() => null);
    if (text !== null) sources.push(...parseAptSources(text, f));
  }
  return sources;
}
