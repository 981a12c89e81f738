// The Packages test site: test/compat/packages-site (clients in several profiles, arches and
// groups) plus a real signed APT archive whose packages exercise every part of the resolver:
// Depends/Pre-Depends chains with versions and ":any", alternatives, virtual packages with one or
// several providers, a name that is both a package and provided, versioned Provides, Essential
// packages, per-architecture dependencies, Recommends, a blacklist, a second component and suite.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pino } from "pino";
import type { DebPackage } from "../../harness/apt-archive.js";
import { initSite } from "../../server/admin/init.js";
import { loadServerConfig, type ServerConfig } from "../../server/admin/server-config.js";
import { startServer, type StartedServer } from "../../server/start-server.js";
import { projectRoot } from "./paths.js";

const packagesSite = join(projectRoot, "test/compat/packages-site");
export const PACKAGES_CLIENTS = ["web1", "web2", "db1", "db2", "lab1", "bare1"];

const p = (name: string, version: string, control: Record<string, string> = {}, extra: Partial<DebPackage> = {}): DebPackage => ({ name, version, control, ...extra });

export function sitePackages(): DebPackage[] {
  return [
    p("base-files", "12.4", { Essential: "yes", Priority: "required" }),
    p("dash", "0.5.12-2", { Essential: "yes", "Pre-Depends": "libc6 (>= 2.36), debianutils (>= 5.6-0.1)" }),
    p("libc6", "2.36-9", { Depends: "libgcc-s1" }),
    p("libgcc-s1", "12.2.0-14", { Depends: "gcc-12-base (= 12.2.0-14)" }),
    p("gcc-12-base", "12.2.0-14"),
    p("debianutils", "5.7-0.5"),
    p("nginx-light", "1.22.1-9", { Depends: "nginx-common (= 1.22.1-9), libssl3 | libssl1.1", Provides: "httpd, httpd-cgi" }),
    p("nginx-common", "1.22.1-9", { Depends: "lsb-base (>= 3.0-6)" }),
    p("lsb-base", "11.6"),
    p("libssl3", "3.0.11-1"),
    p("apache-lite", "2.4.57-2", { Provides: "httpd" }),
    p("webapp", "1.0-1", { Depends: "httpd, python3 (>= 3.11), mail-transport-agent, webapp-data" }),
    p("webapp-data", "1.0-1"),
    p("exim-lite", "4.96-15", { Provides: "mail-transport-agent" }),
    p("python3", "3.11.2-1", { Depends: "python3.11 (>= 3.11.2), libpython3-stdlib:any (= 3.11.2-1)" }),
    p("python3.11", "3.11.2-6"),
    p("libpython3-stdlib", "3.11.2-1", { "Multi-Arch": "allowed" }),
    p("awk", "1:1.0-1"),
    p("mawk-lite", "1.3.4-1", { Provides: "awk" }),
    p("awkuser", "1.0", { Depends: "awk" }),
    p("postgres-db", "15+248", { Depends: "postgresql-15", Recommends: "pg-tools" }),
    p("postgresql-15", "15.5-0", { "Pre-Depends": "adduser", Depends: "libpq5 (>= 15), ssl-cert | openssl-lite, tzdata" }),
    p("libpq5", "15.5-0"),
    p("adduser", "3.134"),
    p("ssl-cert", "1.1.2"),
    p("tzdata", "2024a-0"),
    p("pg-tools", "1.0", { Depends: "perl-lite" }),
    p("perl-lite", "5.36"),
    p("libfoo2", "2.0", { Provides: "libfoo-abi (= 2)" }),
    p("foo-tool", "2.0", { Depends: "libfoo-abi, libfoo2" }),
    p("hwtool", "1.0", { Depends: "libcpuid" }, { arch: "amd64" }),
    p("hwtool", "1.0", { Depends: "libcpuid, libi386-compat" }, { arch: "i386" }),
    p("libcpuid", "0.6", {}, { arch: "amd64" }),
    p("libcpuid", "0.6", {}, { arch: "i386" }),
    p("libi386-compat", "1.0", {}, { arch: "i386" }),
    p("nonfree-fw", "2023", { Depends: "firmware-base" }, { component: "contrib" }),
    p("firmware-base", "2023"),
    p("newtool", "3.0", { Depends: "libnew (>= 3), oldlib | libnew" }, { suite: "trixie" }),
    p("libnew", "3.0", { Recommends: "newtool-doc" }, { suite: "trixie" }),
    p("newtool-doc", "3.0", {}, { suite: "trixie" }),
    p("base-files", "13", { Essential: "yes" }, { suite: "trixie" }),
  ];
}

/** sources.xml for an archive at `url`: Group/Client conditionals, negation, a blacklist, two suites. */
export function sourcesXml(url: string): string {
  return `<Sources>
  <Group name="debian">
    <Group name="strict" negate="true">
      <Source type="apt" url="${url}" version="bookworm">
        <Component>main</Component>
        <Arch>amd64</Arch>
        <Arch>i386</Arch>
      </Source>
    </Group>
    <Group name="strict">
      <Source type="apt" url="${url}" version="bookworm" name="bookworm-strict">
        <Component>main</Component>
        <Arch>amd64</Arch>
        <Blacklist>libssl3</Blacklist>
      </Source>
    </Group>
    <Client name="db2">
      <Source type="apt" url="${url}" version="bookworm" essential="false">
        <Component>contrib</Component>
        <Arch>i386</Arch>
      </Source>
    </Client>
  </Group>
  <Group name="testing">
    <Source type="apt" url="${url}/" version="trixie" recommended="true" debsrc="true">
      <Component>main</Component>
      <Arch>amd64</Arch>
    </Source>
  </Group>
</Sources>
`;
}

/** A copy of the site whose sources.xml points at the archive. */
export function packagesSiteCopy(url: string): string {
  const dir = mkdtempSync(join(tmpdir(), "vacfg-packages-site-"));
  const repo = join(dir, "repo");
  cpSync(packagesSite, repo, { recursive: true });
  writeFileSync(join(repo, "Packages/sources.xml"), sourcesXml(url));
  return repo;
}

export const PACKAGES_SITE_PASSWORD = "labsecret";

export interface PackagesServer {
  repo: string;
  config: ServerConfig;
  /** The site CA the agent verifies the server with. */
  ca: string;
  server: StartedServer;
  /** Stops the server and starts it again on the same site (data directory, cache, repository). */
  restart(): Promise<StartedServer>;
  close(): Promise<void>;
}

/** A vacfg server (TLS, SQLite, `vacfg init` site) on a copy of the packages site, with Packages loaded. */
export async function startPackagesServer(archiveUrl: string): Promise<PackagesServer> {
  const repo = packagesSiteCopy(archiveUrl);
  const site = dirname(repo);
  const config = loadServerConfig(initSite(site, { hostname: "localhost" }).configPath);
  config.settings.password = PACKAGES_SITE_PASSWORD;
  config.settings.plugins = ["Metadata", "Bundler", "Rules", "Cfg", "Probes", "Defaults", "Properties", "Decisions", "Reporting", "Packages"];
  config.listen = { host: "127.0.0.1", port: 0 };
  const start = () => startServer({ ...config, logger: pino({ level: "silent" }) });
  const out: PackagesServer = {
    repo,
    config,
    ca: join(site, "tls", "ca.crt"),
    server: await start(),
    restart: async () => {
      await out.server.close();
      return (out.server = await start());
    },
    close: async () => {
      await out.server.close();
      rmSync(site, { recursive: true, force: true });
    },
  };
  return out;
}
