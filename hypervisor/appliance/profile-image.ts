// `vacfg image build PROFILE`: an appliance image from a repository profile. Layers: the cached
// debootstrap root with the profile's packages (rootfs.ts, keyed by the package set), then the
// vacfg-agent package (dpkg), the repository (shipped at /var/lib/vacfg/repo), the context template and the
// stage-2 init, then the agent applying the profile into that root in local mode, then the
// appliance's own tests; only then ext4 (raw) + qcow2 and a signed attestation of each.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseContextTemplate } from "../../protocol/ctx-template.js";
import { serializeAttestation, type AttestationDocument } from "../../protocol/attestation.js";
import { VacfgError } from "../../protocol/errors.js";
import { runChecked } from "../../lib/host-tools.js";
import { renameIntoPlace, writeFileAtomic } from "../../lib/atomic-file.js";
import { attestImage, DEFAULT_CONFIG_PATHS } from "../attest/index.js";
import { checkAgentDeb, installDebs } from "./agent-package.js";
import { runApplianceTests, requirePassed } from "./appliance-tests.js";
import { STAGE2_INIT } from "./boot-protocol.js";
import type { Progress } from "./cache.js";
import { packImage } from "./image.js";
import { ensureBootBits } from "./initramfs.js";
import { profilePackages } from "./profile-packages.js";
import { DEFAULT_PACKAGES, ensureRootfsTarball, unmountUnder } from "./rootfs.js";

/** Where the image carries its repository, its build record and its context template. */
export const GUEST_REPO_DIR = "/var/lib/vacfg/repo";
export const GUEST_IMAGE_RECORD = "/etc/vacfg/image.json";
export const GUEST_CTX_TEMPLATE = "/etc/vacfg/ctx-template.xml";
/** What the attestation's configuration digest covers: /etc/vacfg and the shipped repository. */
export const IMAGE_CONFIG_PATHS = [...DEFAULT_CONFIG_PATHS, GUEST_REPO_DIR];

/** Applies `profile` from `repo` into `root` as client `client` (the agent in local mode); throws unless clean. */
export type ApplyProfile = (a: { root: string; repo: string; profile: string; client: string }) => Promise<void>;

/** What /etc/vacfg/image.json records, so `image update` re-applies the same profile. */
export interface ImageRecord {
  name: string;
  version: string;
  profile: string;
  client: string;
  builtAt: string;
  updatedAt?: string;
}

export interface BuildOptions {
  repo: string;
  profile: string;
  /** Output directory: NAME.raw (ext4), NAME.qcow2 and NAME.{raw,qcow2}.attestation.json. */
  outDir: string;
  name?: string;
  version?: string;
  /** The client name the profile is rendered for (default "appliance-build"). */
  client?: string;
  cacheDir: string;
  /** The vacfg-agent .deb (`npm run package`): installed with dpkg, its bundle, boot unit and timer. */
  agentDeb: string;
  /** More Debian packages to install with dpkg in the root after it. */
  debs?: string[];
  apply: ApplyProfile;
  template?: string;
  /** Extra Debian packages for the base layer. */
  packages?: string[];
  signingKey: string;
  issuer: string;
  freeMiB?: number;
  progress: Progress;
}

export interface BuiltImage {
  raw: string;
  qcow2: string;
  attestations: { raw: string; qcow2: string };
  qcow2Attestation: AttestationDocument;
  vmlinuz: string;
  initrd: string;
  packages: string[];
  seconds: number;
}

export function attestationPathFor(image: string): string {
  return `${image}.attestation.json`;
}

export async function signImage(image: string, record: ImageRecord, signingKey: string, issuer: string): Promise<{ doc: AttestationDocument; text: string }> {
  const doc = await attestImage(image, { signingKey, issuer, configPaths: IMAGE_CONFIG_PATHS, appliance: { name: record.name, version: record.version } });
  return { doc, text: serializeAttestation(doc) };
}

/** What a build or update run leaves that an image should not carry: its temporary files. */
export async function cleanRoot(root: string): Promise<void> {
  await runChecked("sh", ["-c", 'rm -rf "$1"/tmp/* "$1"/var/tmp/*', "sh", root], { code: "IMAGE" });
}

export async function buildProfileImage(o: BuildOptions): Promise<BuiltImage> {
  const t0 = Date.now();
  const name = o.name ?? o.profile;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new VacfgError("IMAGE", `image name "${name}": letters, digits, '.', '_' and '-' only`);
  const client = o.client ?? "appliance-build";
  const repo = resolve(o.repo);
  const template = o.template !== undefined ? readFileSync(o.template, "utf8") : undefined;
  if (template !== undefined) parseContextTemplate(template, o.template);
  for (const d of o.debs ?? []) if (!existsSync(d)) throw new VacfgError("IMAGE", `--deb ${d}: no such file`);
  const agent = await checkAgentDeb(o.agentDeb);

  o.progress(`profile ${o.profile}: rendering ${repo} in local mode to find its packages`);
  const profilePkgs = await profilePackages(repo, o.profile, client);
  const packages = [...new Set([...DEFAULT_PACKAGES, ...(o.packages ?? []), ...profilePkgs])].sort();
  o.progress(`packages for the base layer: ${packages.join(", ")}`);
  const tarball = await ensureRootfsTarball(o.cacheDir, { packages }, o.progress);
  const boot = await ensureBootBits(o.cacheDir, o.progress);

  mkdirSync(o.outDir, { recursive: true });
  const work = mkdtempSync(join(resolve(o.outDir), `.build-${name}-`));
  const root = join(work, "root");
  try {
    mkdirSync(root);
    o.progress(`unpacking ${basename(tarball)}`);
    await runChecked("tar", ["-xzf", tarball, "-C", root, "--numeric-owner"], { code: "IMAGE", timeoutMs: 600_000 });
    writeFileSync(join(root, "sbin", "vacfg-init"), STAGE2_INIT);
    chmodSync(join(root, "sbin", "vacfg-init"), 0o755);
    o.progress(`${agent.name} ${agent.version} and ${o.debs?.length ?? 0} more package(s) -> dpkg -i; repository -> ${GUEST_REPO_DIR}`);
    await installDebs(root, [o.agentDeb, ...(o.debs ?? [])], o.progress);
    mkdirSync(join(root, GUEST_REPO_DIR, ".."), { recursive: true });
    cpSync(repo, join(root, GUEST_REPO_DIR), { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(root, "etc", "vacfg"), { recursive: true });
    if (template !== undefined) writeFileSync(join(root, GUEST_CTX_TEMPLATE), template, { mode: 0o644 });
    const record: ImageRecord = { name, version: o.version ?? "1", profile: o.profile, client, builtAt: new Date().toISOString() };
    writeFileSync(join(root, GUEST_IMAGE_RECORD), JSON.stringify(record, null, 2) + "\n", { mode: 0o644 });

    o.progress(`agent --local ${GUEST_REPO_DIR} -p ${o.profile} --root (client ${client})`);
    await o.apply({ root, repo: join(root, GUEST_REPO_DIR), profile: o.profile, client });
    requirePassed(await runApplianceTests(join(root, GUEST_REPO_DIR), root, o.progress), `image ${name}`);
    await cleanRoot(root);

    const raw = join(work, `${name}.raw`);
    const qcow2 = join(work, `${name}.qcow2`);
    await packImage(root, raw, qcow2, o.freeMiB ?? 256, o.progress);
    o.progress("signing attestations");
    const outs = { raw: join(o.outDir, `${name}.raw`), qcow2: join(o.outDir, `${name}.qcow2`) };
    const docs = { raw: await signImage(raw, record, o.signingKey, o.issuer), qcow2: await signImage(qcow2, record, o.signingKey, o.issuer) };
    // Images first, then their attestations: a reader never finds an attestation of bytes not in place yet.
    renameIntoPlace(raw, outs.raw);
    renameIntoPlace(qcow2, outs.qcow2);
    for (const k of ["raw", "qcow2"] as const) writeFileAtomic(attestationPathFor(outs[k]), docs[k].text, { mode: 0o644 });
    return {
      ...outs,
      attestations: { raw: attestationPathFor(outs.raw), qcow2: attestationPathFor(outs.qcow2) },
      qcow2Attestation: docs.qcow2.doc,
      vmlinuz: boot.vmlinuz,
      initrd: boot.initrd,
      packages,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await unmountUnder(work);
    rmSync(work, { recursive: true, force: true });
  }
}
