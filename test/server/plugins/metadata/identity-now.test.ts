// The front admits most requests with a decision made without a wait (identity.ts authenticateNow:
// clients.xml and the settings alone). It must give exactly the answer the full decision
// (authenticate) gives wherever it gives one, and leave to `authenticate` every case that needs
// reverse DNS or the store. Random clients.xml files (aliases, uuids, addresses, auth modes, secure,
// floating, passwords, a bad entry) and random requests (user, uuid, alias, root, certificate CN,
// listed and unlisted addresses, site/own/wrong passwords), from a fixed seed.
import { expect } from "chai";
import { parseClientsXml } from "../../../../server/plugins/metadata/clients-file.js";
import { authenticate, authenticateNow, OUTSIDE, type AuthPolicy } from "../../../../server/plugins/metadata/identity.js";
import type { AuthRequest } from "../../../../server/core/metadata.js";
import { seededRandom } from "../../../support/seeded-random.js";

const SEED = Number(process.env.VACFG_IDENTITY_SEED ?? 20261205);
const FILES = 300;
const REQUESTS = 60;

/** Integers in [0, n) from a seeded sequence, so a failure replays. */
function prng(seed: number): (n: number) => number {
  const { rnd } = seededRandom(seed);
  return (n) => Math.floor(rnd() * n);
}

const SITE = "sitepw";
const ADDRESSES = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "fd00::5"];
const UNLISTED = "192.0.2.77";
const MODES = [undefined, "cert", "cert+password", "bootstrap"];

describe("Metadata: the decision without a wait agrees with the full one", function () {
  it(`gives authenticate's answer wherever it answers (${FILES} clients.xml files, ${REQUESTS} requests each)`, async function () {
    const r = prng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[r(xs.length)];
    // The full decision must not need DNS or the store where the one without a wait answered.
    const policy: AuthPolicy = {
      sitePassword: SITE,
      defaultAuth: "cert+password",
      certSeen: () => Promise.reject(new Error("store read where clients.xml decides")),
      recordCert: () => Promise.reject(new Error("store write where clients.xml decides")),
    };
    const tally = { accepted: 0, refused: 0, outside: 0 };
    for (let f = 0; f < FILES; f++) {
      const names = Array.from({ length: 1 + r(5) }, (_, i) => `Host${f}-${i}`);
      const words: string[] = [...names, "root", "Nobody", "bad..name", "", pick(names).toUpperCase()];
      const own = new Map<string, string>();
      let xml = "<Clients>\n";
      for (const name of names) {
        const attrs: string[] = [`name="${name}"`, 'profile="p"'];
        if (r(2)) attrs.push(`address="${pick(ADDRESSES)}"`);
        const mode = pick(MODES);
        if (mode) attrs.push(`auth="${mode}"`);
        if (r(3) === 0) attrs.push('secure="true"');
        if (r(3) === 0) attrs.push('floating="true"');
        if (r(2)) {
          own.set(name, `pw-${name}`);
          attrs.push(`password="pw-${name}"`);
        }
        if (r(3) === 0) {
          const uuid = `u-${f}-${name.length}-${r(1000)}`;
          attrs.push(`uuid="${uuid}"`);
          words.push(uuid, uuid.toUpperCase());
        }
        let children = "";
        if (r(3) === 0) {
          const alias = `alias-${name}`;
          children = `<Alias name="${alias}"${r(2) ? ` address="${pick(ADDRESSES)}"` : ""}/>`;
          words.push(alias);
        }
        xml += `  <Client ${attrs.join(" ")}>${children}</Client>\n`;
      }
      if (r(4) === 0) xml += '  <Client name="Broken" profile="p" address="not-an-address"/>\n';
      xml += "</Clients>\n";
      const c = parseClientsXml(xml, "clients.xml");
      for (let q = 0; q < REQUESTS; q++) {
        const user = pick(words);
        const password = pick([SITE, "wrong", own.get(user) ?? "pw-none", ...own.values()]);
        const req: AuthRequest = { user, password, address: r(5) === 0 ? UNLISTED : pick(ADDRESSES) };
        if (r(4) === 0) req.certCN = pick(words);
        const defaultAuth = pick(["cert+password", "cert", "bootstrap"]);
        const now = authenticateNow(c, req, SITE, defaultAuth);
        if (now === OUTSIDE) {
          tally.outside++;
          continue;
        }
        const full = await authenticate(c, req, { ...policy, defaultAuth });
        expect(now, `${xml}\nrequest ${JSON.stringify(req)}, default auth ${defaultAuth}`).to.equal(full);
        if (now === undefined) tally.refused++;
        else tally.accepted++;
      }
    }
    // Every kind of answer was seen, often.
    for (const [kind, n] of Object.entries(tally)) expect(n, kind).to.be.greaterThan(FILES);
  });
});
