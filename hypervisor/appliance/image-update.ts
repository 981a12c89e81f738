// `vacfg image update IMAGE`: package updates (apt-get upgrade from the given APT sources) and
// repository changes applied to a built image, the profile re-applied by the agent in local mode,
// the appliance's tests run, and only then the image replaced and its attestation re-signed. The
// work happens on a loop-mounted copy (root); any failure leaves image and attestation as they were.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { VacfgError } from "../../protocol/errors.js";
import { runChecked } from "../../lib/host-tools.js";
import { renameIntoPlace, writeFileAtomic } from "../../lib/atomic-file.js";
import { installedPackages } from "../attest/dpkg-status.js";
import { detectImageFormat } from "../image/patch-image.js";
import { runApplianceTests, requirePassed, type ApplianceTestResult } from "./appliance-tests.js";
import type { Progress } from "./cache.js";
import { attestationPathFor, cleanRoot, GUEST_IMAGE_RECORD, GUEST_REPO_DIR, signImage, type ApplyProfile, type ImageRecord } from "./profile-image.js";
import { unmountUnder } from "./rootfs.js";

export interface UpdateOptions {
  image: string;
  /** Default: IMAGE.attestation.json. */
  attestation?: string;
  /** One-line APT sources ("deb [trusted=yes] http://127.0.0.1:8080/ ./"): only these are asked for upgrades. */
  aptSources?: string[];
  /** A new version of the repository: replaces the shipped one before the profile is re-applied. */
  repo?: string;
  /** New appliance version for the attestation (default: the image's). */
  version?: string;
  apply: ApplyProfile;
  signingKey: string;
  issuer: string;
  progress: Progress;
}

export interface UpdateResult {
  /** name: old -> new version, for every package apt changed. */
  upgraded: { name: string; from?: string; to: string }[];
  tests: ApplianceTestResult[];
  attestation: string;
  record: ImageRecord;
}

const APT_ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", DEBIAN_FRONTEND: "noninteractive", LANG: "C.UTF-8" };

function packageVersions(root: string): Map<string, string> {
  return new Map(installedPackages(readFileSync(join(root, "var/lib/dpkg/status"), "utf8")).map((p) => [`${p.name}:${p.arch}`, p.version]));
}

/** apt-get update + upgrade in the mounted root against exactly `sources` (lists kept out of the image). */
async function aptUpgrade(root: string, sources: string[], progress: Progress): Promise<void> {
  for (const s of sources) {
    if (!/^deb(-src)?\s+(\[[^\]]*\]\s+)?\S+\s+\S+/.test(s) || s.includes("\n")) throw new VacfgError("IMAGE", `--apt-source "${s}": expected one sources.list line, "deb [options] URI SUITE [COMPONENT...]"`);
  }
  const tmp = "/tmp/vacfg-update";
  mkdirSync(join(root, tmp, "lists", "partial"), { recursive: true });
  writeFileSync(join(root, tmp, "sources.list"), sources.join("\n") + "\n");
  const o = ["-o", `Dir::Etc::SourceList=${tmp}/sources.list`, "-o", "Dir::Etc::SourceParts=/nonexistent", "-o", `Dir::State::Lists=${tmp}/lists`, "-o", "Acquire::Languages=none"];
  progress(`apt-get update (${sources.length} source(s))`);
  await runChecked("chroot", [root, "apt-get", ...o, "update"], { code: "IMAGE", env: APT_ENV, timeoutMs: 10 * 60_000 });
  progress("apt-get upgrade");
  await runChecked("chroot", [root, "apt-get", ...o, "-y", "-o", "Dpkg::Options::=--force-confold", "upgrade"], { code: "IMAGE", env: APT_ENV, timeoutMs: 30 * 60_000 });
  await runChecked("chroot", [root, "apt-get", "clean"], { code: "IMAGE", env: APT_ENV });
  rmSync(join(root, tmp), { recursive: true, force: true });
}

export async function updateImage(o: UpdateOptions): Promise<UpdateResult> {
  const image = resolve(o.image);
  if (!existsSync(image)) throw new VacfgError("IMAGE", `${o.image}: no such image`);
  const format = detectImageFormat(image);
  if (format === "raw-disk") throw new VacfgError("IMAGE", `${o.image}: a partitioned disk; image update takes what image build writes (an ext4 .raw or a .qcow2)`);
  if (process.getuid?.() !== 0) throw new VacfgError("IMAGE", `image update mounts a copy of ${o.image} and runs apt and the tests chrooted in it: it needs root`);
  const attestation = o.attestation ?? attestationPathFor(image);
  const work = mkdtempSync(join(dirname(image), `.update-${basename(image)}-`));
  const raw = join(work, "image.raw");
  const mnt = join(work, "root");
  let mounted = false;
  try {
    o.progress(format === "qcow2" ? `qemu-img convert ${basename(image)} -> raw work copy` : `copying ${basename(image)} (sparse)`);
    if (format === "qcow2") await runChecked("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", image, raw], { code: "IMAGE", timeoutMs: 600_000 });
    else await runChecked("cp", ["--sparse=always", "--", image, raw], { code: "IMAGE", timeoutMs: 600_000 });
    mkdirSync(mnt);
    await runChecked("mount", ["-o", "loop", raw, mnt], { code: "IMAGE" });
    mounted = true;
    const recordPath = join(mnt, GUEST_IMAGE_RECORD);
    if (!existsSync(recordPath)) throw new VacfgError("IMAGE", `${o.image}: no ${GUEST_IMAGE_RECORD}; image update takes images built by vacfg image build`);
    const record = JSON.parse(readFileSync(recordPath, "utf8")) as ImageRecord;
    await runChecked("mount", ["-t", "proc", "proc", join(mnt, "proc")], { code: "IMAGE" });

    const before = packageVersions(mnt);
    if (o.aptSources?.length) await aptUpgrade(mnt, o.aptSources, o.progress);
    const after = packageVersions(mnt);
    const upgraded = [...after].filter(([k, v]) => before.get(k) !== v).map(([k, v]) => ({ name: k.split(":")[0], from: before.get(k), to: v }));
    for (const u of upgraded) o.progress(`package ${u.name}: ${u.from ?? "(new)"} -> ${u.to}`);

    if (o.repo !== undefined) {
      o.progress(`repository ${o.repo} -> ${GUEST_REPO_DIR}`);
      rmSync(join(mnt, GUEST_REPO_DIR), { recursive: true, force: true });
      cpSync(resolve(o.repo), join(mnt, GUEST_REPO_DIR), { recursive: true, verbatimSymlinks: true });
    }
    o.progress(`agent --local ${GUEST_REPO_DIR} -p ${record.profile} (client ${record.client})`);
    await o.apply({ root: mnt, repo: join(mnt, GUEST_REPO_DIR), profile: record.profile, client: record.client });
    const tests = await runApplianceTests(join(mnt, GUEST_REPO_DIR), mnt, o.progress);
    requirePassed(tests, `update of ${o.image} refused, image and attestation left as they were`);

    const updated: ImageRecord = { ...record, version: o.version ?? record.version, updatedAt: new Date().toISOString() };
    writeFileSync(recordPath, JSON.stringify(updated, null, 2) + "\n", { mode: 0o644 });
    await cleanRoot(mnt);
    await unmountUnder(mnt);
    mounted = false;
    await runChecked("e2fsck", ["-fy", raw], { code: "IMAGE" }).catch(() => undefined); // 1 = fixed (e.g. times): fine
    await runChecked("e2fsck", ["-fn", raw], { code: "IMAGE" });

    let out = raw;
    if (format === "qcow2") {
      out = join(work, "image.qcow2");
      o.progress(`qemu-img convert -> ${basename(image)}`);
      await runChecked("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, out], { code: "IMAGE", timeoutMs: 600_000 });
    }
    o.progress("re-signing the attestation");
    const signed = await signImage(out, updated, o.signingKey, o.issuer);
    renameIntoPlace(out, image);
    writeFileAtomic(attestation, signed.text, { mode: 0o644 });
    return { upgraded, tests, attestation, record: updated };
  } finally {
    if (mounted) await unmountUnder(mnt);
    rmSync(work, { recursive: true, force: true });
  }
}
