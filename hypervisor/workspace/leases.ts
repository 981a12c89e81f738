// Leases of things that must never be handed out twice (addresses, MACs, tap devices): one
// store record per leased value, taken with insertIfAbsent, so two deployments racing for the
// same value cannot both win, even from two service processes sharing the store.
import { createHash } from "node:crypto";
import type { RecordTable } from "../../server/store/store.js";
import { KIND } from "./types.js";

export interface Lease {
  vm: string;
  at: number;
}

type LeaseKind = (typeof KIND)["address" | "mac" | "tap"];

export class Leases {
  constructor(private readonly store: RecordTable) {}

  /** True when `value` was free and is now leased to `vm`. */
  take(kind: LeaseKind, value: string, vm: string): Promise<boolean> {
    return this.store.insertIfAbsent(kind, value, { vm, at: Date.now() } satisfies Lease);
  }

  /** Gives the value back, only if `vm` holds it (a stale release never frees someone else's lease). */
  async release(kind: LeaseKind, value: string, vm: string): Promise<void> {
    const l = await this.store.get<Lease>(kind, value);
    if (l?.vm === vm) await this.store.delete(kind, value);
  }

  async held(kind: LeaseKind): Promise<Map<string, Lease>> {
    return new Map((await this.store.list<Lease>(kind)).map((r) => [r.key, r.value]));
  }

  /** Takes the first free value of `candidates`; undefined when all are leased. */
  async takeFirst(kind: LeaseKind, candidates: string[], vm: string): Promise<string | undefined> {
    for (const c of candidates) if (await this.take(kind, c, vm)) return c;
    return undefined;
  }
}

/**
 * A locally administered unicast MAC (first octet 0x52: bit 1 set, bit 0 clear), stable for a
 * (deployment, node) pair; `attempt` gives the next candidate when a MAC is already leased.
 */
export function workspaceMac(deployment: string, fqdn: string, attempt = 0): string {
  const h = createHash("sha256").update(`${deployment}\0${fqdn}\0${attempt}`).digest();
  return ["52", "54", "00", h[0], h[1], h[2]].map((b) => (typeof b === "number" ? b.toString(16).padStart(2, "0") : b)).join(":");
}
