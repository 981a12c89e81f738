// How a deployment's parameters reach its nodes (the deploy request's `delivery`), and the record
// the DHCP delivery leaves for the configuration server: a node fetches its parameter file from
// https://SERVER/ctx/TOKEN, the location its DHCP answer (known MAC only) carries. The token is
// the capability: 128 random bits, one per VM, gone when the VM is released.

/** image patch (default), kernel command line, DHCP (dnsmasq + https location), NoCloud seed drive. */
export const DELIVERIES = ["patch", "cmdline", "dhcp", "nocloud"] as const;
export type Delivery = (typeof DELIVERIES)[number];

/** Store record kind: token -> CtxDeliveryRecord. */
export const CTX_DELIVERY_KIND = "ctx.delivery";

/** The server's path for a token's parameter file. */
export const CTX_DELIVERY_PATH = "/ctx";

/** base64url of 16 random bytes (22 characters); anything else is refused before the store is asked. */
export const CTX_TOKEN_RE = /^[A-Za-z0-9_-]{22}$/;

export interface CtxDeliveryRecord {
  /** The node the file was made (and signed) for. */
  fqdn: string;
  /** The parameter file (XML, as patched into an image). */
  text: string;
}
