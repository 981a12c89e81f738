// Figure 1 of the paper as test data (well-formed and as printed), the Torque appliance's
// context template, and a sandboxed site (CA, site file, instance request) for a 5-node cluster.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSiteCa } from "../../hypervisor/ctx/site-ca.js";

export const ALICE_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFigure1AliceKeyxxxxxxxxxxxxxxxxxxxxxxxxxx alice@site";
export const BOB_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFigure1BobKeyxxxxxxxxxxxxxxxxxxxxxxxxxxxx bob@site";

export const FIGURE1 = `<?xml version="1.0" encoding="UTF-8"?>
<Parameters>
  <Param name="DNSServer">
    <List>
      <Item value="10.0.0.1"/>
      <Item value="10.0.0.2"/>
    </List>
  </Param>
  <Param name="nodenames">
    <List>
      <Item value="node1.cluster"/>
      <Item value="node2.cluster"/>
      <Item value="node3.cluster"/>
      <Item value="node4.cluster"/>
      <Item value="node5.cluster"/>
    </List>
  </Param>
  <Param name="users">
    <List>
      <Item name="alice" value="${ALICE_KEY}"/>
      <Item name="bob" value="${BOB_KEY}"/>
    </List>
  </Param>
  <Param name="domain" value="cluster"/>
</Parameters>
`;

/** As printed in the paper: a stray </Parameters> (line 17) closes the root before the users Param. */
export const FIGURE1_AS_PRINTED = `<Parameters>
  <Param name="DNSServer">
    <List>
      <Item value="10.0.0.1"/>
      <Item value="10.0.0.2"/>
    </List>
  </Param>
  <Param name="nodenames">
    <List>
      <Item value="node1.cluster"/>
      <Item value="node2.cluster"/>
      <Item value="node3.cluster"/>
      <Item value="node4.cluster"/>
      <Item value="node5.cluster"/>
    </List>
  </Param>
</Parameters>
  <Param name="users">
    <List>
      <Item name="alice" value="${ALICE_KEY}"/>
    </List>
  </Param>
</Parameters>
`;
export const FIGURE1_STRAY_LINE = 17;
export const FIGURE1_NEXT_ROOT_LINE = 18;

/** The Torque appliance's context template, as the workspace deploys it. */
import { TORQUE_CONTEXT_TEMPLATE } from "../../demo/torque-appliance.js";
export const TORQUE_TEMPLATE = TORQUE_CONTEXT_TEMPLATE;

/** The same appliance without secrets: what may travel on a kernel command line. */
export const TORQUE_PUBLIC_TEMPLATE = `<ContextTemplate appliance="torque-public">
  <Param name="DNSServer" shape="list" binding="site" required="true"/>
  <Param name="nodenames" shape="list" binding="instance" generator="nodenames"/>
  <Param name="users" shape="named-list" binding="instance"/>
  <Param name="domain" binding="site"/>
</ContextTemplate>
`;

export interface SiteSandbox {
  dir: string;
  templatePath: string;
  sitePath: string;
  requestPath: string;
  caCert: string;
  caKey: string;
  cleanup(): void;
}

/** A temp dir with a fresh site CA, site.json (10.0.0.0/24) and request.json for 5 nodes. */
export function makeSiteSandbox(request: object = { count: 5, prefix: "node", users: [{ name: "alice", value: ALICE_KEY }, { name: "bob", value: BOB_KEY }] }): SiteSandbox {
  const dir = mkdtempSync(join(tmpdir(), "vacfg-ctx-"));
  const ca = writeSiteCa(join(dir, "ca"), { commonName: "cluster site CA" });
  const site = {
    domain: "cluster",
    dnsServers: ["10.0.0.1", "10.0.0.2"],
    pools: { cluster: { cidr: "10.0.0.0/24", range: ["10.0.0.10", "10.0.0.99"], gateway: "10.0.0.1", reserved: ["10.0.0.2", "10.0.0.11"] } },
    ca: { cert: "ca/ca.pem", key: "ca/ca.key" },
  };
  const templatePath = join(dir, "torque.ctx.xml");
  const sitePath = join(dir, "site.json");
  const requestPath = join(dir, "request.json");
  writeFileSync(templatePath, TORQUE_TEMPLATE);
  writeFileSync(sitePath, JSON.stringify(site, null, 2));
  writeFileSync(requestPath, JSON.stringify(request, null, 2));
  return { dir, templatePath, sitePath, requestPath, caCert: ca.cert, caKey: ca.key, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
