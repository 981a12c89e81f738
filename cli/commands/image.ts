// `vacfg image`: the appliance image lifecycle from the command line: patch (upload files
// without root), build (an image from a repository profile), update (packages + repository, the
// appliance's tests, re-attest only when they pass).
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Option, type Command } from "commander";
import { runAgent } from "../../agent/run.js";
import { createLogger } from "../../agent/log.js";
import { parseAgentArgs } from "../../agent/options.js";
import { resolveCacheDir, stderrProgress } from "../../hypervisor/appliance/cache.js";
import { buildProfileImage, type ApplyProfile } from "../../hypervisor/appliance/profile-image.js";
import { updateImage } from "../../hypervisor/appliance/image-update.js";
import { parseUploadSpec, uploadIntoImage, type UploadSpec } from "../../hypervisor/image/upload.js";
import { buildAgentPackage } from "../../packaging/packages.js";
import { VacfgError } from "../../protocol/errors.js";
import { openLocal } from "../agent-local.js";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The agent in local mode, as `vacfg agent --local REPO -u CLIENT -p PROFILE --root ROOT --exit-dirty -v` runs it. */
export const applyWithLocalAgent: ApplyProfile = async ({ root, repo, profile, client }) => {
  const opts = parseAgentArgs(["--local", repo, "-u", client, "-p", profile, "--root", root, "--exit-dirty", "-v", "-C", "/dev/null"]);
  if (opts === "help") throw new Error("unreachable");
  const r = await runAgent(opts, createLogger(opts.logLevel), undefined, openLocal);
  if (r.exitCode !== 0) {
    const bad = [...r.states].filter(([, ok]) => !ok).map(([e]) => `${e.tag}:${e.attrs.name}`);
    throw new VacfgError("IMAGE", `profile ${profile} did not apply cleanly (agent exit ${r.exitCode})${bad.length ? `: still bad: ${bad.join(", ")}` : ""}`);
  }
};

/** The vacfg-agent package the image gets: --agent-deb, else built from this project as `npm run package` builds it. */
async function withAgentDeb<T>(given: string | undefined, fn: (deb: string) => Promise<T>): Promise<T> {
  if (given !== undefined) return fn(given);
  const dir = mkdtempSync(join(tmpdir(), "vacfg-agent-deb-"));
  try {
    stderrProgress(`building the vacfg-agent package from ${projectRoot} (give --agent-deb to use a built one)`);
    return await fn((await buildAgentPackage(projectRoot, dir)).path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export function registerImage(program: Command): void {
  const image = program.command("image").description("appliance images: patch files in, build from a profile, update and re-attest");

  image
    .command("patch")
    .description("upload a parameter file and/or files into an image without root or mounting (like virt-customize --upload)")
    .argument("<image>", "ext2/3/4 filesystem, raw disk (MBR/GPT, the partition holding /etc) or qcow2 (backing file kept)")
    .argument("[params]", `parameter file, checked, then delivered to /etc/vacfg/context.xml (0600 unless the file is world-readable)`)
    .option("-f, --file <SRC:DEST:MODE>", "upload host file SRC to absolute guest path DEST with octal MODE, root-owned; repeatable", collect)
    .option("--partition <n>", "partition number (1-4 primary, 5... logical); default: the ext partition holding /etc")
    .option("-q, --quiet", "no progress lines on stderr")
    .addHelpText(
      "after",
      "\nEverything is checked before the image is touched; the write goes to a copy that is read back\n" +
        "(bytes, mode, owner) and renamed over the image, so a failure leaves the image as it was.\n" +
        "Exit status: 0 written, 1 refused (the reason names the image, file or --file argument).",
    )
    .action((img: string, params: string | undefined, o: { file?: string[]; partition?: string; quiet?: boolean }) => {
      const files: UploadSpec[] = (o.file ?? []).map(parseUploadSpec);
      let partition: number | undefined;
      if (o.partition !== undefined) {
        partition = Number(o.partition);
        if (!Number.isInteger(partition) || partition < 1) throw new Error(`--partition ${o.partition}: expected a partition number (1, 2, ... 5 for the first logical)`);
      }
      const progress = o.quiet ? undefined : (m: string) => stderrProgress(`image patch: ${m}`);
      const r = uploadIntoImage(img, { params, files, partition, progress });
      for (const f of r.files) console.log(`${f.path}\t0${f.mode.toString(8)}\t${f.data.length} bytes`);
      console.log(`patched ${img} (${r.format}${r.partition ? `, partition ${r.partition}` : ""})`);
    });

  image
    .command("build")
    .description("build an appliance image from a profile of the repository (root: debootstrap, chroot)")
    .argument("<profile>", "a public profile group of the repository")
    .option("-r, --repo <dir>", "the repository (Bcfg2 layout); shipped in the image at /var/lib/vacfg/repo", "repo")
    .option("-o, --out <dir>", "output directory: NAME.raw, NAME.qcow2 and NAME.{raw,qcow2}.attestation.json", ".")
    .option("--name <name>", "image name (default: the profile)")
    .option("--image-version <v>", "appliance version recorded in the attestation", "1")
    .option("-t, --template <file>", "the appliance's context template, installed as /etc/vacfg/ctx-template.xml")
    .option("--package <name>", "extra Debian package for the base layer; repeatable", collect)
    .option("--agent-deb <file>", "the vacfg-agent package (`npm run package` writes dist/debs/vacfg-agent_*.deb); default: built from this project, which needs its development tree (esbuild)")
    .option("--deb <file>", "another .deb to install in the image with dpkg after vacfg-agent; repeatable", collect)
    .option("--client <name>", "client name the profile is rendered for", "appliance-build")
    .requiredOption("--key <file>", "Ed25519 attestation signing key (vacfg attest keygen)")
    .addOption(new Option("--issuer <name>", "who attests").default(hostname(), "this host's name"))
    .addHelpText(
      "after",
      "\nSteps (progress on stderr): the profile's packages (rendered in local mode) -> a debootstrap layer\n" +
        "cached under $VACFG_CACHE (default /var/cache/vacfg) per package set -> dpkg -i vacfg-agent (the agent\n" +
        "bundle, /usr/sbin/vacfg-agent, its boot unit and timer) and any --deb -> the repository, the context\n" +
        "template -> `vacfg agent --local` applies the profile into the root (must be clean)\n" +
        "-> the repository's Appliance/tests/* run chrooted (must pass) -> ext4 + qcow2 -> signed attestations.\n" +
        "Exit status: 0 built, 1 refused or failed (nothing is written to the output directory then).",
    )
    .action(async (profile: string, o: { repo: string; out: string; name?: string; imageVersion: string; template?: string; package?: string[]; agentDeb?: string; deb?: string[]; client: string; key: string; issuer: string }) => {
      const cacheDir = await resolveCacheDir();
      const r = await withAgentDeb(o.agentDeb, (agentDeb) =>
        buildProfileImage({ repo: o.repo, profile, outDir: o.out, name: o.name, version: o.imageVersion, client: o.client, cacheDir, agentDeb, apply: applyWithLocalAgent, template: o.template, packages: o.package, debs: o.deb, signingKey: o.key, issuer: o.issuer, progress: stderrProgress }),
      );
      console.log(`raw:    ${r.raw}\nqcow2:  ${r.qcow2}\nattestations: ${r.attestations.raw} ${r.attestations.qcow2}\nkernel: ${r.vmlinuz}\ninitrd: ${r.initrd}`);
      console.log(`built in ${r.seconds.toFixed(1)} s; ${r.qcow2Attestation.packages.length} packages, config ${r.qcow2Attestation.config.digest}`);
    });

  image
    .command("update")
    .description("apply package updates and repository changes to a built image, run its tests, re-sign only when they pass (root)")
    .argument("<image>", "an image from `vacfg image build` (NAME.qcow2 or NAME.raw)")
    .option("--apt-source <line>", 'APT source to upgrade from, one sources.list line ("deb [trusted=yes] http://127.0.0.1:8080/ ./"); repeatable', collect)
    .option("-r, --repo <dir>", "new repository version: replaces the shipped one before the profile is re-applied")
    .option("--attestation <file>", "the image's attestation (default IMAGE.attestation.json), rewritten only on success")
    .option("--image-version <v>", "new appliance version for the attestation (default: unchanged)")
    .requiredOption("--key <file>", "Ed25519 attestation signing key")
    .addOption(new Option("--issuer <name>", "who attests").default(hostname(), "this host's name"))
    .addHelpText(
      "after",
      "\nWorks on a loop-mounted copy: apt-get upgrade against the given sources only, the repository replaced,\n" +
        "`vacfg agent --local` re-applies the image's profile, the repository's Appliance/tests/* run chrooted.\n" +
        "Only when all of that succeeds is the image replaced and its attestation re-signed; otherwise both stay\n" +
        "byte for byte as they were. Exit status: 0 updated, 1 refused (a failed test names itself and its output).",
    )
    .action(async (img: string, o: { aptSource?: string[]; repo?: string; attestation?: string; imageVersion?: string; key: string; issuer: string }) => {
      const r = await updateImage({ image: img, attestation: o.attestation, aptSources: o.aptSource, repo: o.repo, version: o.imageVersion, apply: applyWithLocalAgent, signingKey: o.key, issuer: o.issuer, progress: stderrProgress });
      for (const u of r.upgraded) console.log(`upgraded ${u.name} ${u.from ?? "(new)"} -> ${u.to}`);
      console.log(`${r.tests.length} appliance test(s) passed; attestation re-signed: ${r.attestation} (${r.record.name} ${r.record.version})`);
    });
}
