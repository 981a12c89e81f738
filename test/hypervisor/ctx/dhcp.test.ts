// DHCP delivery for real: the generated dnsmasq config passes `dnsmasq --test`, and in two
// network namespaces joined by a veth pair, a known MAC gets its address and parameter
// location (option 224) while an unknown MAC gets nothing.
import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VacfgError } from "../../../protocol/errors.js";
import { CTX_DHCP_OPTION, dnsmasqConfig, type DhcpPolicy } from "../../../hypervisor/ctx/dhcp.js";

function run(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60000 });
  return { status: r.error ? -1 : r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error ?? "") };
}
function must(cmd: string, args: string[]): string {
  const r = run(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}
const have = (cmd: string) => run("sh", ["-c", `command -v ${cmd}`]).status === 0;

const KNOWN_MAC = "52:54:00:0a:00:0a";
const policy = (iface?: string): DhcpPolicy => ({
  cidr: "10.0.0.0/24",
  gateway: "10.0.0.1",
  dnsServers: ["10.0.0.1", "10.0.0.2"],
  domain: "cluster",
  leaseTime: "1h",
  dhcpOnly: true,
  ...(iface ? { interface: iface } : {}),
  nodes: [
    { fqdn: "node1.cluster", mac: KNOWN_MAC, address: "10.0.0.10", paramsUrl: "file:///srv/vacfg/ctx/node1.cluster.xml" },
    { fqdn: "node2.cluster", mac: "52:54:00:0a:00:0c", address: "10.0.0.12", paramsUrl: "https://10.0.0.1/ctx/node2.cluster.xml" },
  ],
});

describe("DHCP delivery (hypervisor/ctx/dhcp.ts)", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "vacfg-dhcp-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("generates per-MAC hosts, the parameter location option, and ignores unknown MACs", () => {
    const conf = dnsmasqConfig(policy());
    expect(conf).to.contain("dhcp-ignore=tag:!known\n");
    expect(conf).to.contain("dhcp-range=10.0.0.0,static,255.255.255.0,1h\n");
    expect(conf).to.contain(`dhcp-host=${KNOWN_MAC},set:vacfg0,10.0.0.10,node1\n`);
    expect(conf).to.contain(`dhcp-option-force=tag:vacfg0,${CTX_DHCP_OPTION},"file:///srv/vacfg/ctx/node1.cluster.xml"\n`);
    expect(conf).to.contain("dhcp-option=option:dns-server,10.0.0.1,10.0.0.2\n");
  });

  it("passes dnsmasq --test", function () {
    expect(have("dnsmasq"), "dnsmasq (test/setup/debian-packages.txt)").to.equal(true);
    const f = join(dir, "dnsmasq.conf");
    writeFileSync(f, dnsmasqConfig(policy()));
    const r = run("dnsmasq", ["--test", `--conf-file=${f}`]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr + r.stdout).to.contain("syntax check OK");
  });

  it("refuses policies that would break the config (quotes in URLs, duplicate MACs, foreign subnets)", () => {
    const bad = (mut: (p: DhcpPolicy) => void): string => {
      const p = policy();
      mut(p);
      try {
        dnsmasqConfig(p);
      } catch (e) {
        expect((e as VacfgError).code).to.equal("CTX_BINDING");
        return (e as Error).message;
      }
      throw new Error("expected a refusal");
    };
    expect(bad((p) => (p.nodes[0].paramsUrl = 'file:///x",dhcp-range=evil'))).to.contain("params URL");
    expect(bad((p) => (p.nodes[1].mac = KNOWN_MAC.toUpperCase()))).to.contain("given twice");
    expect(bad((p) => (p.nodes[1].address = "192.168.1.5"))).to.contain("not inside 10.0.0.0/24");
  });

  describe("in network namespaces", function () {
    const tag = randomBytes(3).toString("hex");
    const nsServer = `vacfg-dhcps-${tag}`;
    const nsClient = `vacfg-dhcpc-${tag}`;
    const vServer = `vds${tag}`;
    const vClient = `vdc${tag}`;
    let dnsmasq: ChildProcess | undefined;

    before(function () {
      if (process.getuid?.() !== 0) return this.skip(); // namespaces need root
      for (const t of ["ip", "dnsmasq", "busybox"]) expect(have(t), `${t} (test/setup/debian-packages.txt)`).to.equal(true);
      must("ip", ["netns", "add", nsServer]);
      must("ip", ["netns", "add", nsClient]);
      must("ip", ["link", "add", vServer, "type", "veth", "peer", "name", vClient]);
      must("ip", ["link", "set", vServer, "netns", nsServer]);
      must("ip", ["link", "set", vClient, "netns", nsClient]);
      must("ip", ["-n", nsServer, "addr", "add", "10.0.0.1/24", "dev", vServer]);
      must("ip", ["-n", nsServer, "link", "set", vServer, "up"]);
      must("ip", ["-n", nsClient, "link", "set", vClient, "up"]);
    });

    after(() => {
      dnsmasq?.kill("SIGTERM");
      // deleting the namespaces also removes the veth pair inside them
      run("ip", ["netns", "del", nsServer]);
      run("ip", ["netns", "del", nsClient]);
    });

    async function startDnsmasq(): Promise<void> {
      const conf = join(dir, "ns-dnsmasq.conf");
      writeFileSync(conf, dnsmasqConfig(policy(vServer)));
      dnsmasq = spawn("ip", ["netns", "exec", nsServer, "dnsmasq", "--keep-in-foreground", `--conf-file=${conf}`, `--pid-file=${join(dir, "dnsmasq.pid")}`, `--dhcp-leasefile=${join(dir, "leases")}`, "--user=root", "--log-dhcp", `--log-facility=${join(dir, "dnsmasq.log")}`], { stdio: "ignore" });
      for (let i = 0; i < 300 && !existsSync(join(dir, "dnsmasq.pid")); i++) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(join(dir, "dnsmasq.pid")), "dnsmasq did not start").to.equal(true);
    }

    /** Runs busybox udhcpc once with the given MAC (`tries` discovers a second apart); returns the environment its script saw on "bound". */
    function dhcpClient(mac: string, tries: number): Record<string, string> | undefined {
      must("ip", ["-n", nsClient, "link", "set", vClient, "address", mac]);
      const out = join(dir, `lease-${mac.replace(/:/g, "")}`);
      const script = join(dir, "udhcpc-script.sh");
      writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && env > "${out}"\nexit 0\n`);
      chmodSync(script, 0o755);
      run("ip", ["netns", "exec", nsClient, "busybox", "udhcpc", "-i", vClient, "-f", "-q", "-n", "-t", String(tries), "-T", "1", "-s", script]);
      if (!existsSync(out)) return undefined;
      return Object.fromEntries(readFileSync(out, "utf8").split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    }

    it("gives a known MAC its address and parameter location, and an unknown MAC nothing", async function () {
      await startDnsmasq();
      // Up to 20 discovers: a loaded machine may keep dnsmasq from answering the first ones.
      const lease = dhcpClient(KNOWN_MAC, 20);
      expect(lease, "no lease for the known MAC").to.not.equal(undefined);
      expect(lease!.ip).to.equal("10.0.0.10");
      expect(lease!.router).to.equal("10.0.0.1");
      expect(lease!.dns?.trim().split(/\s+/)).to.deep.equal(["10.0.0.1", "10.0.0.2"]);
      // busybox hands unknown options to the script as hex
      expect(Buffer.from(lease![`opt${CTX_DHCP_OPTION}`], "hex").toString()).to.equal("file:///srv/vacfg/ctx/node1.cluster.xml");
      expect(dhcpClient("52:54:00:0a:00:99", 3), "unknown MAC got a lease").to.equal(undefined);
      // dnsmasq saw its discovers and ignored them (its log line may come after udhcpc gave up).
      const ignored = /DHCPDISCOVER\(\S+\) 52:54:00:0a:00:99 ignored/;
      for (let i = 0; i < 300 && !ignored.test(readFileSync(join(dir, "dnsmasq.log"), "utf8")); i++) await new Promise((r) => setTimeout(r, 100));
      expect(readFileSync(join(dir, "dnsmasq.log"), "utf8")).to.match(ignored);
    });
  });
});
