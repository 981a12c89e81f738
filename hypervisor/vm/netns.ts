// Private VM networks: a network namespace holding a bridge with an address from a given CIDR
// and N tap devices enslaved to it. QEMU runs inside the namespace (`ip netns exec`), so guest
// traffic reaches the bridge and the other taps, and never any host interface.
import { VacfgError } from "../../protocol/errors.js";
import { runChecked, runTool } from "../../lib/host-tools.js";

export interface NetnsOptions {
  /** Namespace name ([A-Za-z0-9_.-], at most 32 characters). */
  name: string;
  /** Network in CIDR form, e.g. "10.77.0.0/24"; the bridge takes its first host address. */
  cidr: string;
  taps: number;
  bridge?: string;
  tapPrefix?: string;
}

export interface Netns {
  name: string;
  bridge: string;
  /** The bridge's address with prefix, e.g. "10.77.0.1/24". */
  bridgeAddress: string;
  taps: string[];
  /** Addresses for guests (with prefix), one per tap, after the bridge's. */
  guestAddresses: string[];
}

function ipToInt(ip: string): number {
  const p = ip.split(".").map(Number);
  if (p.length !== 4 || p.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) throw new VacfgError("VM", `netns: not an IPv4 address: ${ip}`);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

const intToIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

/** The first `count` host addresses of a network, each with the network's prefix. */
export function hostAddresses(cidr: string, count: number): string[] {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m || Number(m[2]) > 30) throw new VacfgError("VM", `netns: cidr must be IPv4/0..30, got ${JSON.stringify(cidr)}`);
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  const network = prefix === 0 ? 0 : (ipToInt(m[1]) & (~(size - 1) >>> 0)) >>> 0;
  if (count > size - 2) throw new VacfgError("VM", `netns: ${cidr} has only ${size - 2} host addresses, ${count} wanted`);
  return Array.from({ length: count }, (_, i) => `${intToIp(network + 1 + i)}/${prefix}`);
}

export async function createNetns(o: NetnsOptions): Promise<Netns> {
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(o.name)) throw new VacfgError("VM", `netns: invalid namespace name ${JSON.stringify(o.name)}`);
  const bridge = o.bridge ?? "br0";
  const taps = Array.from({ length: o.taps }, (_, i) => `${o.tapPrefix ?? "tap"}${i}`);
  const [bridgeAddress, ...guestAddresses] = hostAddresses(o.cidr, o.taps + 1);
  const ipn = (...args: string[]) => runChecked("ip", ["-n", o.name, ...args]);
  await runChecked("ip", ["netns", "add", o.name]);
  try {
    await ipn("link", "set", "lo", "up");
    await ipn("link", "add", bridge, "type", "bridge");
    await ipn("addr", "add", bridgeAddress, "dev", bridge);
    await ipn("link", "set", bridge, "up");
    for (const tap of taps) {
      await ipn("tuntap", "add", "dev", tap, "mode", "tap");
      await ipn("link", "set", tap, "master", bridge);
      await ipn("link", "set", tap, "up");
    }
  } catch (e) {
    // Deleting the namespace removes the bridge and taps created so far: nothing half-built stays.
    await destroyNetns(o.name);
    throw e;
  }
  return { name: o.name, bridge, bridgeAddress, taps, guestAddresses };
}

/** Removes the namespace and every interface in it; a missing namespace is not an error. */
export async function destroyNetns(name: string): Promise<void> {
  const r = await runTool("ip", ["netns", "del", name]);
  if (r.code !== 0 && !/No such file|not exist/i.test(r.stderr)) throw new VacfgError("VM", `ip netns del ${name}: ${r.stderr.trim()}`);
}

export async function listNetns(): Promise<string[]> {
  const out = await runChecked("ip", ["netns", "list"]);
  return out.split("\n").map((l) => l.split(/\s+/)[0]).filter(Boolean);
}

/** argv that runs `cmd` inside the namespace. */
export function inNetns(name: string, cmd: string, args: string[]): [string, string[]] {
  return ["ip", ["netns", "exec", name, cmd, ...args]];
}
