// `vacfg attest`: key generation, signing an image's attestation, and the admission check
// (exit 0 admitted, 3 refused with one line per reason naming its rule, 1 on bad input).
import type { Command } from "commander";
import { withExamples } from "../help.js";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { serializeAttestation } from "../../protocol/attestation.js";
import { VacfgError } from "../../protocol/errors.js";
import { admitImage, attestImage, DEFAULT_CONFIG_PATHS, generateSigningKey, loadPolicy, loadTrustDir, recordAttestation } from "../../hypervisor/attest/index.js";
import { openStore } from "../../server/store/open-store.js";
import { writeFileAtomic } from "../../lib/atomic-file.js";

export const EXIT_REFUSED = 3;

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];


export function registerAttest(program: Command): void {
  const attest = program.command("attest").description("sign image attestations and admit images by policy");

  const keygen = attest
    .command("keygen")
    .description("write an Ed25519 signing key pair: NAME.key (0600) and NAME.pub")
    .requiredOption("--out <dir>", "directory for the key files")
    .option("--name <name>", "file name stem", "attest")
    .action((o: { out: string; name: string }) => {
      const k = generateSigningKey(o.out, o.name);
      console.log(`private key: ${k.privatePath}\npublic key:  ${k.publicPath}\nfingerprint: ${k.fingerprint}`);
    });
  withExamples(keygen, ["vacfg attest keygen --out keys --name builder   # keys/builder.key (0600), keys/builder.pub"]);

  const sign = attest
    .command("sign")
    .description("attest an image (read without root or mounting) and sign the attestation")
    .argument("<image>", "image file: ext2/3/4, raw disk (MBR/GPT) or qcow2 without backing file")
    .requiredOption("--key <file>", "Ed25519 private key (PEM)")
    .requiredOption("--issuer <name>", "who attests (recorded in the document)")
    .option("--config-path <path>", `guest path the configuration digest covers, repeatable (default ${DEFAULT_CONFIG_PATHS.join(" ")})`, collect)
    .option("--appliance-name <name>", "appliance name (default: image file name without extension)")
    .option("--appliance-version <version>", "appliance version", "unversioned")
    .requiredOption("-o, --output <file>", "where to write the attestation (canonical JSON)")
    .option("--store <url>", "also record it in this store (sqlite:/path or postgres://...)")
    .action(async (image: string, o: { key: string; issuer: string; configPath?: string[]; applianceName?: string; applianceVersion: string; output: string; store?: string }) => {
      const doc = await attestImage(image, {
        signingKey: o.key,
        issuer: o.issuer,
        configPaths: o.configPath,
        appliance: { name: o.applianceName ?? basename(image).replace(/\.[^.]*$/, ""), version: o.applianceVersion },
      });
      writeFileAtomic(o.output, serializeAttestation(doc));
      if (o.store) {
        const store = await openStore(o.store);
        try {
          await recordAttestation(store, doc);
        } finally {
          await store.close();
        }
      }
      console.log(`${doc.subject.digest} ${doc.subject.format}: ${doc.packages.length} packages, config ${doc.config.digest} (${doc.config.files} entries), signed by ${doc.signature.keyFingerprint}`);
    });
  withExamples(sign, ["vacfg attest sign appliance.qcow2 --key keys/builder.key --issuer builder@example.org --appliance-version 1.2 -o appliance.att.json"]);

  const verify = attest
    .command("verify")
    .description("admit or refuse an image: exit 0 admitted, 3 refused")
    .argument("<image>", "image file, as for attest sign")
    .option("--attestation <file>", "the image's attestation (else looked up in --store by image digest)")
    .option("--store <url>", "store holding attestations")
    .requiredOption("--policy <file>", "admission policy (JSON)")
    .requiredOption("--trust <dir>", "directory of trusted signer public keys (*.pub)")
    .action(async (image: string, o: { attestation?: string; store?: string; policy: string; trust: string }) => {
      if (!o.attestation && !o.store) throw new VacfgError("ATTESTATION_INVALID", "give --attestation FILE or --store URL");
      const policy = loadPolicy(o.policy);
      const keys = loadTrustDir(o.trust);
      let attestation: string | undefined;
      if (o.attestation) {
        try {
          attestation = readFileSync(o.attestation, "utf8");
        } catch (e) {
          throw new VacfgError("ATTESTATION_INVALID", `${o.attestation}: ${(e as Error).message}`);
        }
      }
      const store = o.store && !attestation ? await openStore(o.store) : undefined;
      try {
        const d = await admitImage(image, policy, { keys, attestation, store });
        if (d.admitted) {
          console.log(`admitted ${image} (${d.digest}, ${d.attestation?.appliance.name} ${d.attestation?.appliance.version}, issued ${d.attestation?.issuedAt} by ${d.attestation?.issuer})`);
        } else {
          console.log(`refused ${image}${d.digest ? ` (${d.digest})` : ""}`);
          for (const r of d.reasons) console.log(`  [${r.rule}] ${r.message}`);
          process.exitCode = EXIT_REFUSED;
        }
      } finally {
        await store?.close();
      }
    });
  withExamples(verify, [
    "vacfg attest verify appliance.qcow2 --attestation appliance.att.json --policy policy.json --trust trusted-keys/",
    "vacfg attest verify appliance.qcow2 --store sqlite:/srv/vacfg/data/vacfg.db --policy policy.json --trust trusted-keys/",
  ]);
}
