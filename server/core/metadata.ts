// What the server knows about one client during one run (Bcfg2's ClientMetadata).
import type { XmlElement } from "../../protocol/xml.js";

export interface ClientMetadata {
  hostname: string;
  profile: string;
  /** Every group the client is in: profile, nested groups, probe groups, connector groups. */
  groups: Set<string>;
  /** Bundle names the client's groups bring in. */
  bundles: Set<string>;
  aliases: Set<string>;
  addresses: Set<string>;
  /** Group category → the client's group in that category. */
  categories: Map<string, string>;
  uuid?: string;
  password?: string;
  version?: string;
  /**
   * Data from connector plugins, by plugin name, exposed to templates as metadata.<Name>:
   * e.g. Probes → { cpus: ProbeValue }, Properties → { "users.xml": PropertyFile }, Context → params.
   */
  connectors: Record<string, unknown>;
}

/** A stored probe value as templates see it: the string, plus structured views when it parses. */
export interface ProbeValueView {
  toString(): string;
  readonly value: string;
  /** Parsed JSON, when the output is JSON. */
  readonly json?: unknown;
  /** Parsed XML, when the output is XML. */
  readonly xdata?: XmlElement;
}

/** What the HTTP front knows about a caller before the client name is settled. */
export interface AuthRequest {
  /** The HTTP basic-auth user (may be "root"), and the password ("" when absent or malformed). */
  user: string;
  password: string;
  /** Peer address, IPv4-mapped prefix removed. */
  address: string;
  /** commonName of a verified TLS client certificate signed by the site CA, if one was presented. */
  certCN?: string;
}

/** A successful authentication: the client, and whether the same credentials would still settle it. */
export interface AuthDecision {
  client: string;
  /**
   * Present when the decision read nothing but what this process watches (clients.xml, the settings):
   * true while every one of those inputs is unchanged, so the same request would be decided the same
   * way. Absent when it also read the store or DNS (a registration, a bootstrap certificate, an
   * address's reverse name): such a decision is made again for every request.
   */
  holds?: () => boolean;
}
