// The statistics document (RecvStats): what a client run found and did.
import { ProtocolError } from "../errors.js";
import { el, parseXml, serializeXml, type XmlElement, type ParseOptions } from "../xml.js";

export interface Statistics {
  total: number;
  good: number;
  state: "clean" | "dirty";
  version: string;
  revision: string;
  flags: Record<string, string>;
  modified: XmlElement[];
  extra: XmlElement[];
  goodEntries: XmlElement[];
  bad: XmlElement[];
  /** Phase → unix time in seconds, as the string the client sent. */
  opStamps: Record<string, string>;
}

const SECTIONS = [
  ["Modified", "modified"],
  ["Extra", "extra"],
  ["Good", "goodEntries"],
  ["Bad", "bad"],
] as const;

export function serializeStatistics(s: Statistics): string {
  const st = el("Statistics", { total: String(s.total), version: s.version, revision: s.revision, good: String(s.good), state: s.state });
  st.children.push(el("Flags", {}, Object.entries(s.flags).map(([name, value]) => el("Flag", { name, value }))));
  for (const [tag, key] of SECTIONS) st.children.push(el(tag, {}, s[key]));
  st.children.push(el("OpStamps", { ...s.opStamps }));
  return serializeXml(el("upload-statistics", {}, [st]));
}

function num(st: XmlElement, attr: string): number {
  const v = st.attrs[attr];
  if (v === undefined || !/^\d+$/.test(v)) throw new ProtocolError("DOC_INVALID", `RecvStats: <Statistics ${attr}="${v ?? ""}"> is not a number`);
  return Number(v);
}

export function parseStatistics(xml: string, opts: ParseOptions = {}): Statistics {
  const root = parseXml(xml, { source: "RecvStats", ...opts });
  const st = root.tag === "upload-statistics" ? root.children.find((c) => c.tag === "Statistics") : root.tag === "Statistics" ? root : undefined;
  if (!st) throw new ProtocolError("DOC_INVALID", `RecvStats: expected <upload-statistics><Statistics>, found <${root.tag}>`);
  const state = st.attrs.state;
  if (state !== "clean" && state !== "dirty") throw new ProtocolError("DOC_INVALID", `RecvStats: state="${state ?? ""}" is not clean or dirty`);
  const s: Statistics = {
    total: num(st, "total"),
    good: num(st, "good"),
    state,
    version: st.attrs.version ?? "2.0",
    revision: st.attrs.revision ?? "-1",
    flags: {},
    modified: [],
    extra: [],
    goodEntries: [],
    bad: [],
    opStamps: {},
  };
  for (const c of st.children) {
    if (c.tag === "Flags") for (const f of c.children) if (f.attrs.name) s.flags[f.attrs.name] = f.attrs.value ?? "";
    if (c.tag === "OpStamps") s.opStamps = { ...c.attrs };
    for (const [tag, key] of SECTIONS) if (c.tag === tag) s[key] = c.children;
  }
  return s;
}
