// Who is on the other end of a connection: the peer address as upstream sees it (IPv4
// without the ::ffff: prefix) and the CN of a client certificate the site CA signed.
import type { TLSSocket } from "node:tls";
import type { Socket } from "node:net";

export function peerAddress(socket: Socket): string {
  const a = socket.remoteAddress ?? "";
  return a.startsWith("::ffff:") ? a.slice("::ffff:".length) : a;
}

/** Admin methods are accepted only from the loopback address itself (upstream: 127.0.0.1). */
export function isLocalhost(address: string): boolean {
  return address === "127.0.0.1" || address === "::1";
}

/**
 * commonName of the presented client certificate, only when the handshake verified it
 * against the site CA (rejectUnauthorized is off so that a certificate stays optional).
 */
export function verifiedCertCN(socket: Socket): string | undefined {
  const tls = socket as TLSSocket;
  if (typeof tls.getPeerCertificate !== "function" || !tls.authorized) return undefined;
  const cert = tls.getPeerCertificate();
  const cn = cert?.subject?.CN;
  if (Array.isArray(cn)) return cn[0];
  return typeof cn === "string" && cn !== "" ? cn : undefined;
}
