// Whether a root's apt package lists are as new as their archives, answered without running
// `apt-get update` (a process, a lock, a cache rebuild: most of a no-change run). Upstream's APT
// driver never refreshes them outside kevlar mode and leaves it to apt's periodic job; the agent
// must notice a newer version="auto" candidate on the next run, so it asks the archives the
// question apt-get update would ask first, in-process, and runs apt-get update only when the
// answer is "changed" or when it cannot tell:
// - file: archives: the Release/InRelease (a flat repository without one: its Packages) mtime
//   against the lists' copy, which apt stamps with the source's mtime (apt's file method compares
//   the same way, so a rewrite within the same second is missed by both);
// - http(s) archives: a conditional GET of the InRelease/Release the lists hold (If-Modified-Since
//   its mtime, which apt sets from Last-Modified); 304 or the same bytes means unchanged;
// - a source with no lists, a component without a Packages list, another scheme, an unreadable
//   sources file, a request error or timeout: stale, and apt-get update decides and reports.
import { lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { get as httpGet, type IncomingMessage } from "node:http";
import { get as httpsGet } from "node:https";
import { posix } from "node:path";
import { readAptSources, type AptSource } from "../../lib/apt-sources.js";

export interface ListsCheck {
  /** Host path of the root's /etc/apt. */
  etcApt: string;
  /** Host path of the root's /var/lib/apt/lists. */
  listsDir: string;
  /** Maps a file: URI's path to the host path apt reads it from (apt chrooted into the root or not). */
  filePath(path: string): string;
  timeoutMs?: number;
}

/** apt's URItoFileName: scheme and credentials dropped, unsafe characters %-quoted, "/" → "_". */
export function uriToFileName(uri: string): string {
  let rest = uri.replace(/^[A-Za-z][A-Za-z0-9+.-]*:/, "");
  if (rest.startsWith("//")) {
    rest = rest.slice(2);
    const slash = rest.indexOf("/");
    const authority = slash < 0 ? rest : rest.slice(0, slash);
    const at = authority.lastIndexOf("@");
    if (at >= 0) rest = rest.slice(at + 1);
  }
  let out = "";
  for (const byte of Buffer.from(rest, "utf8")) {
    const c = String.fromCharCode(byte);
    out += byte <= 0x20 || byte >= 0x7f || '\\|{}[]<>"^~_=!@#$%^&*'.includes(c) ? `%${byte.toString(16).padStart(2, "0")}` : c;
  }
  return out.replace(/\//g, "_");
}

const mtimeSeconds = (p: string): number | undefined => {
  try {
    return Math.floor(statSync(p).mtimeMs / 1000);
  } catch {
    return undefined;
  }
};

/** mtime of a lists file; apt keeps an uncompressed file: index as a symbolic link to the archive's own file. */
function listMtime(c: ListsCheck, name: string): number | undefined {
  const p = posix.join(c.listsDir, name);
  try {
    const l = lstatSync(p);
    if (!l.isSymbolicLink()) return Math.floor(l.mtimeMs / 1000);
    const target = readlinkSync(p);
    return mtimeSeconds(target.startsWith("/") ? c.filePath(target) : posix.join(c.listsDir, target));
  } catch {
    return undefined;
  }
}

/** Why the lists are stale (the first reason found), or undefined when every source is unchanged. */
export async function staleListsReason(c: ListsCheck): Promise<string | undefined> {
  let sources: AptSource[];
  let lists: string[];
  try {
    sources = await readAptSources(c.etcApt);
    lists = readdirSync(c.listsDir);
  } catch (e) {
    return (e as Error).message;
  }
  for (const s of sources) {
    const base = s.uri.endsWith("/") ? s.uri : s.uri + "/";
    for (const suite of s.suites) {
      const why = await staleSuite(c, lists, base, suite, s.components);
      if (why) return `${s.uri} ${suite}: ${why}`;
    }
  }
  return undefined;
}

async function staleSuite(c: ListsCheck, lists: string[], base: string, suite: string, components: string[]): Promise<string | undefined> {
  const flat = suite.endsWith("/");
  const dir = flat ? base + suite : `${base}dists/${suite}/`;
  const has = (name: string) => lists.includes(name);
  const release = ["InRelease", "Release"].find((r) => has(uriToFileName(dir + r)));
  // every component's binary index is there (a flat repository: its one Packages list)
  const indexPrefixes = flat ? [uriToFileName(dir + "Packages")] : components.map((comp) => uriToFileName(`${dir}${comp}/binary-`));
  for (const prefix of indexPrefixes) {
    if (!lists.some((l) => l.startsWith(prefix) && (flat || /_Packages(\.[a-z0-9]+)?$/.test(l)))) return "no package list yet";
  }
  const scheme = /^([a-z0-9+.-]+):/i.exec(base)?.[1]?.toLowerCase();
  if (scheme === "file" || scheme === "copy") {
    const remoteDir = c.filePath(base.replace(/^[a-z]+:(\/\/)?/i, "") + dir.slice(base.length)).replace(/\/?$/, "/");
    if (release) {
      if (listMtime(c, uriToFileName(dir + release)) !== mtimeSeconds(remoteDir + release)) return `${release} changed`;
      // an archive that started signing (InRelease appears) is a change too
      return release === "Release" && mtimeSeconds(remoteDir + "InRelease") !== undefined ? "InRelease appeared" : undefined;
    }
    if (["InRelease", "Release"].some((r) => mtimeSeconds(remoteDir + r) !== undefined)) return "Release appeared";
    const local = lists.filter((l) => l.startsWith(indexPrefixes[0]!)).map((l) => listMtime(c, l));
    const remote = readdirSafe(remoteDir.replace(/\/$/, "")).filter((f) => /^Packages(\.[a-z0-9]+)?$/.test(f)).map((f) => mtimeSeconds(remoteDir + f));
    if (!remote.length) return "the archive has no Packages";
    return local.includes(Math.max(...remote.map((m) => m ?? 0))) ? undefined : "Packages changed";
  }
  if (scheme === "http" || scheme === "https") {
    if (proxied(c.etcApt)) return "a proxy is configured: left to apt-get update";
    if (!release) return "no Release in the lists";
    const localFile = posix.join(c.listsDir, uriToFileName(dir + release));
    return unchangedOverHttp(dir + release, localFile, c.timeoutMs ?? 5000).then((same) => (same ? undefined : `${release} changed`));
  }
  return `${scheme ?? "unknown"}: sources are left to apt-get update`;
}

/** A proxy apt would use (environment or apt.conf): this module's direct requests would not be apt's. */
function proxied(etcApt: string): boolean {
  if (["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"].some((v) => process.env[v])) return true;
  const confs = [posix.join(etcApt, "apt.conf"), ...readdirSafe(posix.join(etcApt, "apt.conf.d")).map((f) => posix.join(etcApt, "apt.conf.d", f))];
  return confs.some((f) => {
    try {
      return /proxy/i.test(readFileSync(f, "utf8"));
    } catch {
      return false;
    }
  });
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** True when the server answers 304 to If-Modified-Since, or the same bytes as `localFile`. */
function unchangedOverHttp(url: string, localFile: string, timeoutMs: number): Promise<boolean> {
  let local: Buffer;
  let since: string;
  try {
    local = readFileSync(localFile);
    since = statSync(localFile).mtime.toUTCString();
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const done = (v: boolean) => {
      clearTimeout(timer);
      resolve(v);
    };
    const onResponse = (res: IncomingMessage) => {
      if (res.statusCode === 304) {
        res.resume();
        return done(true);
      }
      if (res.statusCode !== 200) {
        res.resume();
        return done(false);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (b: Buffer) => {
        size += b.length;
        if (size > local.length) {
          res.destroy();
          done(false);
        } else chunks.push(b);
      });
      res.on("end", () => done(Buffer.concat(chunks).equals(local)));
      res.on("error", () => done(false));
    };
    const req = (url.startsWith("https:") ? httpsGet : httpGet)(url, { headers: { "If-Modified-Since": since, "User-Agent": "vacfg-agent" } }, onResponse);
    req.on("error", () => done(false));
    const timer = setTimeout(() => {
      req.destroy();
      done(false);
    }, timeoutMs);
  });
}
