// The agent's TLS contexts. The server (and an https parameter location) is checked against the site
// CA alone (--ca). The one request without it, whether an https archive changed (tools/apt-lists.ts),
// uses the system's store, as apt does: the package's launcher runs node with --use-openssl-ca
// (packaging/agent-bundle.ts AGENT_NODE_OPTIONS), so that store is OpenSSL's, not node's bundled copy.
//
// Node builds that default store on the first secure context, even one whose `ca` replaces it
// (nodejs/node#56301): the whole bundle parsed up front, 25–40 ms of every run. Built while
// SSL_CERT_FILE names an empty file, it has the system's hashed certificate directory (/etc/ssl/certs,
// or SSL_CERT_DIR) instead, which OpenSSL reads lazily: one certificate when a chain names it. Same
// certificates (update-ca-certificates writes both), nothing parsed that is not used.
import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";

/** A secure context; the process's default store, if this makes it, is read lazily (see above). */
export function secureContext(o: SecureContextOptions): SecureContext {
  // a file the operator named is theirs to pay for; child processes never see the empty one
  if (process.env.SSL_CERT_FILE !== undefined) return createSecureContext(o);
  process.env.SSL_CERT_FILE = "/dev/null";
  try {
    return createSecureContext(o);
  } finally {
    delete process.env.SSL_CERT_FILE;
  }
}
