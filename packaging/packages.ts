// The Debian packages vacfg ships, staged from the built project: vacfg (the command and its
// libraries), vacfg-server (system user, /etc/vacfg site, data directory, hardened notify unit),
// vacfg-agent (the bundled agent, boot unit, timer) and vacfg-hypervisor (host tools, VM reaper).
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AGENT_ENTRY, AGENT_NODE_OPTIONS, bundleAgent } from "./agent-bundle.js";
import { AGENT_CODE_CACHE_DIR } from "./agent-layout.js";
import { stageCliTree } from "./cli-tree.js";
import { buildDeb, type DebSpec } from "./deb.js";
import { postinst, postrm, prerm, type UnitActions } from "./maintainer-scripts.js";
import { stageManPage } from "./man-page.js";
import { runChecked } from "../lib/host-tools.js";
import { AGENT_PACKAGE_LAYOUT } from "../protocol/attestation.js";

/** Unit files, defaults and examples, in the source tree (tsc copies no data files). */
const FILES = join(dirname(fileURLToPath(import.meta.url)), "../../packaging/files");
const UNIT_DIR = "usr/lib/systemd/system";

/** The installed command runs on the Node it was built for: better-sqlite3 is a native module (ABI of Node 20). */
export const SERVER_NODE = "nodejs (>= 20)";
/** The agent bundle targets Node 18 (agent-bundle.ts), Debian bookworm's nodejs. */
export const AGENT_NODE = "nodejs (>= 18)";
/** Where vacfg-agent installs the bundle (what an image's attestation digests), and the command that runs it. */
export const AGENT_LIB_DIR = AGENT_PACKAGE_LAYOUT.dir.slice(1);
export const AGENT_COMMAND = AGENT_PACKAGE_LAYOUT.command;

export interface BuiltPackage {
  name: string;
  path: string;
  bytes: number;
}

async function put(root: string, path: string, text: string | Buffer, mode = 0o644): Promise<void> {
  const to = join(root, path);
  await mkdir(dirname(to), { recursive: true });
  await writeFile(to, text);
  await chmod(to, mode);
}

const file = (name: string): Promise<string> => readFile(join(FILES, name), "utf8");

async function units(root: string, names: string[]): Promise<void> {
  for (const n of names) await put(root, `${UNIT_DIR}/${n}`, await file(n));
}

const SERVER_UNITS: UnitActions = { enable: ["vacfg-server.service"], start: ["vacfg-server.service"] };
const AGENT_UNITS: UnitActions = { enable: ["vacfg-agent-boot.service", "vacfg-configured.target", "vacfg-agent.timer"], start: ["vacfg-agent.timer"] };
const HYPERVISOR_UNITS: UnitActions = { enable: ["vacfg-vm-reaper.service"], start: ["vacfg-vm-reaper.service"] };

/** First install: the system user, a site in /etc/vacfg, the repository and the 0700 data directory. */
const SERVER_CONFIGURE = `
if command -v systemd-sysusers >/dev/null 2>&1; then
  systemd-sysusers vacfg-server.conf
elif ! getent passwd vacfg >/dev/null; then
  useradd --system --user-group --home-dir /var/lib/vacfg --no-create-home --shell /usr/sbin/nologin vacfg
fi
install -d -m 0700 -o vacfg -g vacfg /var/lib/vacfg
install -d -m 0755 /srv/vacfg
if [ ! -e /etc/vacfg/vacfg.conf ]; then
  fresh_repo=no; [ -e /srv/vacfg/repo ] || fresh_repo=yes
  vacfg init /etc/vacfg --hostname "$(hostname -f 2>/dev/null || hostname)" --repository /srv/vacfg/repo --data-dir /var/lib/vacfg >/dev/null
  [ "$fresh_repo" = no ] || chown -R vacfg:vacfg /srv/vacfg/repo
  # The server reads its configuration (which holds the site password) and its TLS key; the CA key
  # and the parameter signing key stay root's.
  chgrp vacfg /etc/vacfg/vacfg.conf /etc/vacfg/tls/server.key
  chmod 0640 /etc/vacfg/vacfg.conf /etc/vacfg/tls/server.key
  echo "vacfg-server: new site in /etc/vacfg, repository /srv/vacfg/repo; the site password is in /etc/vacfg/password"
fi`;

const projectVersion = async (projectRoot: string): Promise<string> => (JSON.parse(await readFile(join(projectRoot, "package.json"), "utf8")) as { version: string }).version;

/**
 * The agent's code cache is made from this version's bundle, by its runs: gone before an upgrade
 * (the new bundle's modules have other names and keys) or a removal, as py3clean does for .pyc files.
 */
const AGENT_PRERM = `rm -rf ${AGENT_CODE_CACHE_DIR}`;

/** vacfg-agent: the bundle in /usr/lib/vacfg-agent, /usr/sbin/vacfg-agent, the units and their defaults. */
async function agentSpec(projectRoot: string, agent: string, version: string, readme: string): Promise<DebSpec> {
  await bundleAgent(projectRoot, join(agent, AGENT_LIB_DIR));
  await put(agent, AGENT_COMMAND.slice(1), `#!/bin/sh\nexec node ${AGENT_NODE_OPTIONS.join(" ")} /${AGENT_LIB_DIR}/${AGENT_ENTRY} "$@"\n`, 0o755);
  await units(agent, ["vacfg-agent.service", "vacfg-agent-boot.service", "vacfg-agent.timer", "vacfg-configured.target"]);
  await put(agent, "etc/default/vacfg-agent", await file("vacfg-agent.default"));
  await put(agent, "usr/share/doc/vacfg-agent/vacfg.conf.example", await file("vacfg.conf.example"));
  await put(agent, "usr/share/doc/vacfg-agent/README.Debian", readme);
  return {
    name: AGENT_PACKAGE_LAYOUT.package,
    version,
    architecture: "all",
    depends: [AGENT_NODE],
    description: ["vacfg agent (Bcfg2-compatible client) bundled for Node 18, with boot unit and timer", "Runs at boot before vacfg-configured.target and hourly with a random delay\n(vacfg-agent.timer), once /etc/vacfg.conf names the server. `vacfg-agent --local REPO`\nrenders a repository shipped on the machine without a server."],
    root: agent,
    conffiles: ["/etc/default/vacfg-agent"],
    scripts: { postinst: postinst(AGENT_UNITS), prerm: prerm(AGENT_UNITS, AGENT_PRERM), postrm: postrm(AGENT_UNITS) },
  };
}

/** Only the vacfg-agent package (what appliance images install), built into `outDir`. */
export async function buildAgentPackage(projectRoot: string, outDir: string): Promise<BuiltPackage> {
  const stage = await mkdtemp(join(tmpdir(), "vacfg-agent-stage-"));
  try {
    const spec = await agentSpec(projectRoot, join(stage, "vacfg-agent"), await projectVersion(projectRoot), await readFile(join(FILES, "README.Debian"), "utf8"));
    const path = await buildDeb(spec, outDir);
    return { name: spec.name, path, bytes: (await stat(path)).size };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

export async function buildPackages(projectRoot: string, outDir: string, stageDir: string): Promise<BuiltPackage[]> {
  const version = await projectVersion(projectRoot);
  const arch = (await runChecked("dpkg", ["--print-architecture"], { code: "PACKAGE" })).trim();
  const specs: DebSpec[] = [];
  const readme = await readFile(join(FILES, "README.Debian"), "utf8");

  const cli = join(stageDir, "vacfg");
  const tree = await stageCliTree(projectRoot, join(cli, "usr/lib/vacfg"), version);
  await put(cli, "usr/bin/vacfg", '#!/bin/sh\nexec node /usr/lib/vacfg/dist/cli/vacfg.js "$@"\n', 0o755);
  await put(cli, "usr/share/doc/vacfg/README.Debian", readme);
  await stageManPage(projectRoot, cli);
  specs.push({
    name: "vacfg",
    version,
    architecture: arch,
    depends: [SERVER_NODE, "openssl"],
    description: ["Bcfg2-compatible configuration system for virtual appliances (command and libraries)", `The vacfg command: server, lint, info, reports, agent, ctx, deploy, vm, attest, image.\nnpm packages: ${tree.packages.join(", ")}.`],
    root: cli,
  });

  const server = join(stageDir, "vacfg-server");
  await units(server, ["vacfg-server.service"]);
  await put(server, "usr/lib/sysusers.d/vacfg-server.conf", await file("vacfg-server.sysusers"));
  await put(server, "usr/share/doc/vacfg-server/README.Debian", readme);
  specs.push({
    name: "vacfg-server",
    version,
    architecture: "all",
    depends: [`vacfg (= ${version})`, "perl-base", "passwd"],
    description: ["vacfg configuration server (Bcfg2 protocol over HTTPS) as a systemd service", "Creates the vacfg system user, a site in /etc/vacfg (CA, server certificate, password),\nthe repository /srv/vacfg/repo and the data directory /var/lib/vacfg (0700), and runs\nvacfg-server.service (Type=notify, hardened, logging to the journal)."],
    root: server,
    scripts: { postinst: postinst(SERVER_UNITS, SERVER_CONFIGURE), prerm: prerm(SERVER_UNITS), postrm: postrm(SERVER_UNITS) },
  });

  specs.push(await agentSpec(projectRoot, join(stageDir, "vacfg-agent"), version, readme));

  const hyp = join(stageDir, "vacfg-hypervisor");
  await units(hyp, ["vacfg-vm-reaper.service"]);
  await put(hyp, "usr/share/doc/vacfg-hypervisor/README.Debian", readme);
  specs.push({
    name: "vacfg-hypervisor",
    version,
    architecture: "all",
    depends: [`vacfg (= ${version})`, "qemu-system-x86", "qemu-utils", "e2fsprogs", "debootstrap"],
    recommends: ["dnsmasq-base", "iproute2", "mtools", "dosfstools", "xorriso"],
    description: ["vacfg host tools: parameters, image patching, QEMU/Xen VMs, admission", "The tools vacfg ctx, deploy, vm, attest and image use on the host, and\nvacfg-vm-reaper.service, which shuts down workspace VMs whose time to live has passed\n(once /etc/vacfg/workspace.json exists)."],
    root: hyp,
    scripts: { postinst: postinst(HYPERVISOR_UNITS), prerm: prerm(HYPERVISOR_UNITS), postrm: postrm(HYPERVISOR_UNITS) },
  });

  const built: BuiltPackage[] = [];
  for (const s of specs) {
    const path = await buildDeb(s, outDir);
    built.push({ name: s.name, path, bytes: (await stat(path)).size });
  }
  return built;
}

