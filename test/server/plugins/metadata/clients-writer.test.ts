// clients.xml text edits: layout and comments kept, atomic writes, several processes at once.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { parseXml } from "../../../../protocol/xml.js";
import { applyClientsEdit, parseClientsXml } from "../../../../server/plugins/metadata/clients-file.js";
import { BatchEditor, editClientsXml, editText, insertClient, setClientAttr, type ClientsEdit } from "../../../../server/plugins/metadata/clients-writer.js";
import { CLIENTS_XML } from "../../core/fixture-repo.js";

const run = promisify(execFile);

describe("clients.xml writer", function () {
  it("inserts a line before </Clients> with the file's indentation, and edits one attribute in place", () => {
    const text = '<Clients>\n    <!-- c -->\n    <Client name="a" profile="p"/>\n    <!-- <Client name="b" profile="commented"/> -->\n    <Client name="b"\n            profile="x" >\n      <Alias name="bee"/>\n    </Client>\n</Clients>\n';
    const added = insertClient(text, "n&1", [["profile", "web"]]);
    expect(added).to.equal(text.replace("</Clients>", '    <Client name="n&amp;1" profile="web"/>\n</Clients>'));
    expect(insertClient(added, "A", [["profile", "web"]])).to.equal(added);
    const changed = setClientAttr(text, "bee", "profile", "y");
    expect(changed).to.equal(text.replace('profile="x" >', 'profile="y" >'));
    expect(setClientAttr(text, "a", "version", "1.4")).to.include('<Client name="a" profile="p" version="1.4"/>');
    expect(insertClient("<Clients/>\n", "z", [])).to.equal('<Clients>\n  <Client name="z"/>\n</Clients>\n');
  });

  it("edits arriving together are applied in order in one process; an edit that throws fails alone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vacfg-clients-"));
    try {
      const path = join(dir, "clients.xml");
      writeFileSync(path, CLIENTS_XML);
      const adds = Array.from({ length: 200 }, (_, i) => editClientsXml(path, { op: "insert", name: `n${i}`, attrs: [["profile", "web"]] }));
      // queued after the insert of the same client: sees it
      const versions = Array.from({ length: 200 }, (_, i) => editClientsXml(path, { op: "set", name: `n${i}`, attr: "version", value: `v${i}` }));
      const missing = editClientsXml(path, { op: "set", name: "nobody", attr: "version", value: "1" });
      const again = editClientsXml(path, { op: "insert", name: "n0", attrs: [["profile", "other"]] });
      expect(await Promise.all([...adds, ...versions])).to.satisfy((xs: boolean[]) => xs.every(Boolean));
      await missing.then(
        () => expect.fail("an edit of an unknown client must reject"),
        (e: Error) => expect(e.message).to.match(/Client "nobody" does not exist/),
      );
      expect(await again, "inserting an existing client changes nothing").to.equal(false);
      const clients = parseXml(readFileSync(path, "utf8")).children.filter((c) => c.tag === "Client");
      expect(clients).to.have.length(7 + 200);
      for (let i = 0; i < 200; i++) expect(clients.find((c) => c.attrs.name === `n${i}`)?.attrs).to.deep.include({ profile: "web", version: `v${i}` });
      expect(readdirSync(dir)).to.deep.equal(["clients.xml"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the parsed model updated edit by edit equals a fresh parse of the written text (2,000 random edits)", () => {
    // Names include an alias, different case and new clients (a name listed twice is refused by the parser);
    // attributes the fast path does not cover must fall back (false), never diverge.
    let text = CLIENTS_XML.replace("</Clients>", '  <Client name="Twice" profile="b"/>\n</Clients>');
    let model = parseClientsXml(text, "clients.xml");
    const names = ["web1", "WEB1", "db1", "uu-alias", "twice", "new1", "New1", "new2", "new3", "n&4"];
    let seed = 7; // mulberry32: a seeded sequence, so a failure replays
    const rand = (n: number): number => {
      let t = (seed = (seed + 0x6d2b79f5) | 0);
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
    };
    let fast = 0;
    let fallback = 0;
    for (let i = 0; i < 2000; i++) {
      const name = rand(3) ? names[rand(names.length)] : `fresh${rand(400)}`;
      const edit: ClientsEdit = [
        (): ClientsEdit => ({ op: "insert", name, attrs: [["profile", `p${rand(3)}`], ["version", `v${rand(3)}`]] }),
        (): ClientsEdit => ({ op: "set", name, attr: "version", value: `v${rand(50)}`, absent: "skip" }),
        (): ClientsEdit => ({ op: "set", name, attr: "profile", value: `p${rand(50)}`, absent: [["profile", "web"]] }),
        (): ClientsEdit => ({ op: "set", name, attr: ["password", "version"][rand(2)], value: `x${rand(50)}`, absent: "skip" }),
      ][rand(4)]();
      const next = editText(text, edit);
      if (next === text) continue;
      text = next;
      if (applyClientsEdit(model, edit)) {
        fast++;
        expect(model, `after ${JSON.stringify(edit)}`).to.deep.equal(parseClientsXml(text, "clients.xml"));
      } else {
        fallback++;
        model = parseClientsXml(text, "clients.xml");
      }
    }
    expect(fast, "edits taking the fast path").to.be.greaterThan(100);
    expect(fallback, "edits that must fall back").to.be.greaterThan(10);
  });

  it("a batch of edits gives the text, outcomes and errors of the same edits applied one by one (300 random batches)", () => {
    let seed = 11; // mulberry32, as above
    const rand = (n: number): number => {
      let t = (seed = (seed + 0x6d2b79f5) | 0);
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
    };
    // Starting texts: clients, an alias, a commented-out client, a character reference, no client at all, a self-closed root.
    const texts = [
      CLIENTS_XML,
      '<Clients>\n  <!-- <Client name="ghost"/> -->\n  <Client name="N&#51;" profile="p"/>\n</Clients>\n',
      "<Clients>\n</Clients>\n",
      "<Clients/>\n",
      '<Clients><Client name="x1" profile="p"/></Clients>',
    ];
    const names = ["web1", "WEB1", "uu-alias", "UU-ALIAS", "ghost", "n3", "x1", "new1", "NEW1", "new2", "x10", "n&5"];
    let batched = 0;
    for (let round = 0; round < 300; round++) {
      let text = texts[rand(texts.length)];
      const edits: ClientsEdit[] = Array.from({ length: 1 + rand(12) }, (): ClientsEdit => {
        const name = rand(4) ? names[rand(names.length)] : `fresh${rand(30)}`;
        switch (rand(6)) {
          case 0:
            return { op: "set", name, attr: "version", value: `v${rand(3)}`, absent: "skip" };
          case 1:
            return { op: "set", name, attr: "profile", value: `p${rand(3)}`, absent: rand(2) ? [["profile", "web"]] : undefined };
          case 2:
            return { op: "remove", name };
          default:
            return { op: "insert", name, attrs: [["profile", `p${rand(3)}`]] };
        }
      });
      const editor = new BatchEditor(text);
      const outcome = (f: () => boolean): string => {
        try {
          return String(f());
        } catch (e) {
          return `error ${(e as Error).message}`;
        }
      };
      const got = edits.map((e) => outcome(() => editor.apply(e)));
      const want = edits.map((e) =>
        outcome(() => {
          const next = editText(text, e);
          const changed = next !== text;
          text = next;
          return changed;
        }),
      );
      expect(got, JSON.stringify(edits)).to.deep.equal(want);
      expect(editor.text(), JSON.stringify(edits)).to.equal(text);
      if (edits.filter((e) => e.op === "insert").length > 1) batched++;
    }
    expect(batched, "rounds with several inserts in one batch").to.be.greaterThan(100);
  });

  it("a batch of 200 inserts and 200 attribute edits is one write; the next starts from the text written and still sees a hand edit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vacfg-clients-"));
    try {
      const path = join(dir, "clients.xml");
      writeFileSync(path, CLIENTS_XML);
      const writes: ClientsEdit[][] = [];
      const hook = (_b: string, _a: string, applied: ClientsEdit[]): number => writes.push(applied);
      const edits = [
        ...Array.from({ length: 200 }, (_, i) => editClientsXml(path, { op: "insert", name: `m${i}`, attrs: [["profile", "web"]] }, hook)),
        ...Array.from({ length: 200 }, (_, i) => editClientsXml(path, { op: "set", name: `m${i}`, attr: "version", value: `v${i}` }, hook)),
      ];
      await Promise.all(edits);
      expect(writes.map((w) => w.length)).to.deep.equal([400]);
      // The next batch starts from the text this process wrote (no re-read), and a hand edit in between is still seen.
      writeFileSync(path, readFileSync(path, "utf8").replace('<Client name="m7" profile="web"', '<Client name="m7" profile="hand"'));
      await editClientsXml(path, { op: "insert", name: "late", attrs: [] }, hook);
      const text = readFileSync(path, "utf8");
      expect(text).to.include('<Client name="m7" profile="hand" version="v7"/>').and.include('<Client name="late"/>');
      expect(parseXml(text).children.filter((c) => c.tag === "Client")).to.have.length(7 + 201);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("batches of new clients appended to the file it wrote give the text of the edits applied one by one (non-ASCII before, a comment after)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vacfg-clients-"));
    try {
      const path = join(dir, "clients.xml");
      let expected = '<Clients>\n\t<!-- Müller’s hosts: ünïcode before the end -->\n\t<Client name="a" profile="p"/>\n</Clients>\n<!-- after the root -->\n';
      writeFileSync(path, expected);
      const rounds: ClientsEdit[][] = [
        [{ op: "insert", name: "b1", attrs: [["profile", "web"]] }],
        // appended to the file this process wrote: inserts only, one of them a client already there
        Array.from({ length: 50 }, (_, i): ClientsEdit => ({ op: "insert", name: i === 7 ? "A" : `c${i}`, attrs: [["profile", "wéb"]] })),
        [{ op: "set", name: "c3", attr: "version", value: "1.4" }, { op: "insert", name: "d0", attrs: [] }],
        Array.from({ length: 20 }, (_, i): ClientsEdit => ({ op: "insert", name: `e${i}`, attrs: [["profile", "p"]] })),
        [{ op: "insert", name: "E3", attrs: [] }],
      ];
      for (const edits of rounds) {
        const got = await Promise.all(edits.map((e) => editClientsXml(path, e)));
        const want = edits.map((e) => {
          const next = editText(expected, e);
          const changed = next !== expected;
          expected = next;
          return changed;
        });
        expect(got, JSON.stringify(edits[0])).to.deep.equal(want);
        expect(readFileSync(path, "utf8")).to.equal(expected);
      }
      expect(parseXml(readFileSync(path, "utf8")).children.filter((c) => c.tag === "Client")).to.have.length(1 + 1 + 49 + 1 + 20);
      expect(readdirSync(dir)).to.deep.equal(["clients.xml"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("three processes adding and updating clients at once lose nothing and leave no temp files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vacfg-clients-"));
    try {
      const path = join(dir, "clients.xml");
      writeFileSync(path, CLIENTS_XML);
      const child = fileURLToPath(new URL("./clients-writer-child.js", import.meta.url));
      await Promise.all(["p", "q", "r"].map((prefix) => run(process.execPath, [child, path, prefix, "12"])));
      const text = readFileSync(path, "utf8");
      const clients = parseXml(text).children.filter((c) => c.tag === "Client");
      expect(clients).to.have.length(7 + 36);
      for (const p of ["p", "q", "r"]) for (let i = 0; i < 12; i++) expect(clients.find((c) => c.attrs.name === `${p}${i}`)?.attrs.version).to.equal(`v${i}`);
      expect(text).to.include("<!-- admin note: keep this comment -->");
      expect(readdirSync(dir)).to.deep.equal(["clients.xml"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
