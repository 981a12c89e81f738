// IPv4 address pools from the site file (CIDR + range): each node gets one address, once.
import { VacfgError } from "../../protocol/errors.js";

export interface PoolSpec {
  /** e.g. "10.0.0.0/24" */
  cidr: string;
  /** First and last assignable address (inclusive); default: the whole subnet minus network/broadcast. */
  range?: [string, string];
  gateway?: string;
  /** Addresses never handed out (DNS servers, the head node's fixed address, ...). */
  reserved?: string[];
}

export function ipToInt(ip: string, where = "address"): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) throw new VacfgError("CTX_BINDING", `${where}: "${ip}" is not an IPv4 address`);
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) throw new VacfgError("CTX_BINDING", `${where}: "${ip}" is not an IPv4 address`);
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function parseCidr(cidr: string, where = "cidr"): { network: number; prefix: number; broadcast: number } {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m || Number(m[2]) > 32) throw new VacfgError("CTX_BINDING", `${where}: "${cidr}" is not an IPv4 CIDR`);
  const prefix = Number(m[2]);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (ipToInt(m[1], where) & mask) >>> 0;
  return { network, prefix, broadcast: (network | (~mask >>> 0)) >>> 0 };
}

/** Hands out addresses in order; asking again for the same node returns its first address. */
export class AddressPool {
  readonly name: string;
  readonly prefix: number;
  private next: number;
  private readonly first: number;
  private readonly last: number;
  private readonly taken = new Set<number>();
  private readonly byNode = new Map<string, string>();

  constructor(name: string, spec: PoolSpec) {
    const where = `site pool "${name}"`;
    this.name = name;
    const net = parseCidr(spec.cidr, `${where} cidr`);
    this.prefix = net.prefix;
    const lo = net.prefix >= 31 ? net.network : net.network + 1;
    const hi = net.prefix >= 31 ? net.broadcast : net.broadcast - 1;
    const [first, last] = spec.range ? [ipToInt(spec.range[0], `${where} range`), ipToInt(spec.range[1], `${where} range`)] : [lo, hi];
    if (first < lo || last > hi || first > last) {
      throw new VacfgError("CTX_BINDING", `${where}: range ${spec.range?.join("-")} is not inside ${spec.cidr}`);
    }
    this.next = first;
    this.first = first;
    this.last = last;
    for (const r of [spec.gateway, ...(spec.reserved ?? [])]) if (r) this.taken.add(ipToInt(r, `${where} reserved`));
  }

  /** The node's address: allocated on first call, the same one after (never two per node, never one twice). */
  addressFor(node: string): string {
    const had = this.byNode.get(node);
    if (had) return had;
    while (this.next <= this.last && this.taken.has(this.next)) this.next++;
    if (this.next > this.last) throw new VacfgError("CTX_BINDING", `site pool "${this.name}": no free address left for ${node}`);
    const n = this.next++;
    this.taken.add(n);
    const ip = intToIp(n);
    this.byNode.set(node, ip);
    return ip;
  }

  /**
   * Gives the node an address it already holds (a deployment's update keeps each node's address,
   * which its own lease reserves); refused when the address is outside the range or another node's.
   */
  assign(node: string, ip: string): void {
    const where = `site pool "${this.name}"`;
    const n = ipToInt(ip, `${where} address of ${node}`);
    if (n < this.first || n > this.last) throw new VacfgError("CTX_BINDING", `${where}: ${ip} (kept for ${node}) is outside the pool's range`);
    const had = this.byNode.get(node);
    const holder = [...this.byNode].find(([, a]) => a === ip)?.[0];
    if (had === ip) return;
    if (had !== undefined || holder !== undefined) throw new VacfgError("CTX_BINDING", `${where}: ${ip} cannot be kept for ${node}: ${had !== undefined ? `it has ${had}` : `${holder} has it`}`);
    this.taken.add(n);
    this.byNode.set(node, ip);
  }

  /** Marks an address used elsewhere (e.g. by an earlier deployment). */
  reserve(ip: string): void {
    this.taken.add(ipToInt(ip, `site pool "${this.name}" reserve`));
  }
}
