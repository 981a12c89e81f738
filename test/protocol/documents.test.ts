// The Bcfg2 documents as typed values: each recorded payload parses and serializes back byte for byte.
import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfiguration, serializeConfiguration, sortByName, allEntries } from "../../protocol/documents/configuration.js";
import { parseStatistics, serializeStatistics } from "../../protocol/documents/statistics.js";
import { parseProbes, serializeProbes, parseProbeData, serializeProbeData, splitProbeOutput } from "../../protocol/documents/probes.js";
import { pathEntry, packageEntry, serviceEntry, posixUserEntry, actionEntry, entryKey } from "../../protocol/entries.js";
import { el, parseXml, serializeXml } from "../../protocol/xml.js";
import { ProtocolError } from "../../protocol/errors.js";
import { transcriptsDir } from "../support/paths.js";

function payloads(suffix: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const d of readdirSync(transcriptsDir).filter((x) => /^0[1-4]-/.test(x) && !x.endsWith(".txt"))) {
    for (const f of readdirSync(join(transcriptsDir, d)).filter((x) => x.endsWith(suffix))) {
      out.push([`${d}/${f}`, readFileSync(join(transcriptsDir, d, f), "utf8")]);
    }
  }
  return out;
}

describe("Bcfg2 documents", () => {
  it("configuration documents round-trip byte for byte", () => {
    const docs = payloads("GetConfig.response.payload.xml");
    expect(docs.length).to.be.greaterThan(2);
    for (const [name, xml] of docs) expect(serializeConfiguration(parseConfiguration(xml)), name).to.equal(xml);
  });

  it("reads typed entries from a recorded configuration", () => {
    const [, xml] = payloads("GetConfig.response.payload.xml").find(([n]) => n.startsWith("04-"))!;
    const entries = allEntries(parseConfiguration(xml)).map((x) => x.entry);
    const logo = pathEntry(entries.find((e) => e.attrs.name === "/etc/torque/logo.bin")!);
    expect(logo.content!.subarray(0, 4).toString("hex")).to.equal("89504e47");
    const empty = pathEntry(entries.find((e) => e.attrs.name === "/etc/torque/empty.conf")!);
    expect(empty.empty).to.equal(true);
    expect(empty.content!.length).to.equal(0);
    const failed = entries.filter((e) => e.attrs.failure);
    expect(failed.length).to.be.greaterThan(0);
    const user = entries.find((e) => e.tag === "POSIXUser")!;
    expect(posixUserEntry(user).memberOf).to.deep.equal(["users"]);
    expect(entryKey(user)).to.equal("POSIXUser:hpc");
  });

  it("sorts by name across tags, stably, and leaves a level with an unnamed child alone", () => {
    const root = el("Bundle", { name: "b" }, [
      el("Service", { name: "torque-server" }),
      el("Package", { name: "torque-scheduler" }),
      el("Package", { name: "torque-server" }),
      el("Service", { name: "torque-scheduler" }),
    ]);
    sortByName(root);
    expect(root.children.map((c) => `${c.tag}:${c.attrs.name}`)).to.deep.equal([
      "Package:torque-scheduler",
      "Service:torque-scheduler",
      "Service:torque-server",
      "Package:torque-server",
    ]);
    const mixed = el("X", {}, [el("B", { name: "b" }), el("Unnamed"), el("A", { name: "a" })]);
    sortByName(mixed);
    expect(mixed.children.map((c) => c.tag)).to.deep.equal(["B", "Unnamed", "A"]);
  });

  it("sorts levels of every size as a stable sort by name does (duplicate names keep their order)", () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
    for (let n = 0; n <= 80; n++) {
      const kids = Array.from({ length: n }, (_, i) => el("Path", { name: `/n${next() % 9}`, i: String(i) }));
      const expected = kids.slice().sort((a, b) => (a.attrs.name! < b.attrs.name! ? -1 : a.attrs.name! > b.attrs.name! ? 1 : 0));
      const root = el("Bundle", { name: "b" }, kids);
      sortByName(root);
      expect(root.children.map((c) => c.attrs.i), `${n} entries`).to.deep.equal(expected.map((c) => c.attrs.i));
    }
  });

  it("statistics documents round-trip byte for byte", () => {
    const docs = payloads("RecvStats.request.payload.xml");
    expect(docs.length).to.be.greaterThan(2);
    for (const [name, xml] of docs) {
      const s = parseStatistics(xml);
      expect(s.state).to.equal("dirty");
      expect(s.bad.length, name).to.be.greaterThan(0);
      expect(serializeStatistics(s), name).to.equal(xml);
    }
  });

  it("refuses statistics with a bad state or count, naming the attribute", () => {
    expect(() => parseStatistics('<upload-statistics><Statistics total="x" good="1" state="clean"/></upload-statistics>')).to.throw(ProtocolError, /total="x"/);
    expect(() => parseStatistics('<upload-statistics><Statistics total="1" good="1" state="meh"/></upload-statistics>')).to.throw(ProtocolError, /state="meh"/);
  });

  it("probe and probe-data documents round-trip byte for byte", () => {
    for (const [name, xml] of payloads("GetProbes.response.payload.xml")) expect(serializeProbes(parseProbes(xml)), name).to.equal(xml);
    for (const [name, xml] of payloads("RecvProbeData.request.payload.xml")) expect(serializeProbeData(parseProbeData(xml)), name).to.equal(xml);
  });

  it("splits group: lines from a probe's value", () => {
    expect(splitProbeOutput("group:bookworm\n8\ngroup: gpu\n")).to.deep.equal({ groups: ["bookworm", "gpu"], value: "8\n" });
  });

  it("types entries and refuses bad attribute values naming the entry", () => {
    expect(packageEntry(el("Package", { name: "torque-mom", type: "deb" })).version).to.equal("auto");
    expect(serviceEntry(el("Service", { name: "pbs", status: "off", type: "systemd" })).status).to.equal("off");
    expect(actionEntry(el("Action", { name: "qmgr", command: "qmgr -c x", when: "always" })).timing).to.equal("post");
    expect(() => serviceEntry(el("Service", { name: "pbs", status: "maybe" }))).to.throw(ProtocolError, /pbs.*status="maybe"/);
    expect(() => pathEntry(el("Path", { name: "/x", type: "weird" }))).to.throw(ProtocolError, /type="weird"/);
  });

  it("keeps attribute order and escapes like lxml", () => {
    const x = '<Path name="/a&amp;b" mode="644" to="&quot;x&#10;y&quot;">a &lt; b &gt; c &amp; d</Path>';
    expect(serializeXml(parseXml(x))).to.equal(x);
  });

  it("reports the line of a malformed document", () => {
    expect(() => parseXml("<a>\n<b>\n</a>", { source: "groups.xml" })).to.throw(ProtocolError, /^groups\.xml:\d+:/);
  });
});
