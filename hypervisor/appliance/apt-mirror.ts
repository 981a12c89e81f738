// The Debian mirror apt already uses on this host (from /etc/apt/sources.list and
// sources.list.d/*.list|*.sources), which is the one debootstrap must use: no other is reachable.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { VacfgError } from "../../protocol/errors.js";

export interface AptSource {
  uri: string;
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
  for (const f of (await readdir(dir).catch(() => [] as string[])).sort()) {
    if (f.endsWith(".list") || f.endsWith(".sources")) files.push(join(dir, f));
  }
  const sources: AptSource[] = [];
  for (const f of files) {
    const text = await readFile(f, "utf8").catch(() => null);
    if (text !== null) sources.push(...parseAptSources(text, f));
  }
  return sources;
}

/** The mirror serving `suite` itself (not -updates/-security) with the main component. */
export async function debianMirrorFor(suite: string, root = "/etc/apt"): Promise<string> {
  const sources = await readAptSources(root);
  const hit = sources.find((s) => s.suites.includes(suite) && (s.components.length === 0 || s.components.includes("main")));
  if (!hit) throw new VacfgError("IMAGE", `no apt source under ${root} serves suite ${suite} (main); debootstrap needs one`);
  return hit.uri;
}
