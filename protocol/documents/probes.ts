// The probe documents: <probes> (server → client, GetProbes) and <ProbeData> (client → server, RecvProbeData).
import { ProtocolError } from "../errors.js";
import { el, parseXml, serializeXml, type ParseOptions } from "../xml.js";

export interface Probe {
  name: string;
  source: string;
  interpreter: string;
  /** The script text, including its #! line. */
  script: string;
}

export interface ProbeDataItem {
  name: string;
  source: string;
  /** The probe's stdout, as sent (group: lines included). */
  output: string;
}

export function serializeProbes(probes: Probe[]): string {
  return serializeXml(
    el(
      "probes",
      {},
      probes.map((p) => el("probe", { name: p.name, source: p.source, interpreter: p.interpreter }, [], p.script)),
    ),
  );
}

export function parseProbes(xml: string, opts: ParseOptions = {}): Probe[] {
  const root = parseXml(xml, { source: "GetProbes", keepBlankText: true, ...opts });
  if (root.tag !== "probes") throw new ProtocolError("DOC_INVALID", `GetProbes: root is <${root.tag}>, not <probes>`);
  return root.children
    .filter((c) => c.tag === "probe")
    .map((c) => {
      if (!c.attrs.name) throw new ProtocolError("DOC_INVALID", `GetProbes:${c.line}: <probe> without name=`);
      return { name: c.attrs.name, source: c.attrs.source ?? "Probes", interpreter: c.attrs.interpreter || "/bin/sh", script: c.text ?? "" };
    });
}

export function serializeProbeData(items: ProbeDataItem[]): string {
  return serializeXml(
    el(
      "ProbeData",
      {},
      items.map((i) => el("probe-data", { name: i.name, source: i.source }, [], i.output)),
    ),
  );
}

export function parseProbeData(xml: string, opts: ParseOptions = {}): ProbeDataItem[] {
  const root = parseXml(xml, { source: "RecvProbeData", keepBlankText: true, ...opts });
  if (root.tag !== "ProbeData") throw new ProtocolError("DOC_INVALID", `RecvProbeData: root is <${root.tag}>, not <ProbeData>`);
  return root.children.map((c) => {
    if (c.tag !== "probe-data" || !c.attrs.name) {
      throw new ProtocolError("DOC_INVALID", `RecvProbeData:${c.line}: expected <probe-data name=..>, found <${c.tag}>`);
    }
    return { name: c.attrs.name, source: c.attrs.source ?? "Probes", output: c.text ?? "" };
  });
}

/** Splits probe output into `group:NAME` lines and the remaining value, as upstream Probes does. */
export function splitProbeOutput(output: string): { groups: string[]; value: string } {
  const groups: string[] = [];
  const rest: string[] = [];
  for (const line of output.split("\n")) {
    const m = /^group:\s*(\S+)\s*$/.exec(line);
    if (m) groups.push(m[1]);
    else rest.push(line);
  }
  return { groups, value: rest.join("\n") };
}
