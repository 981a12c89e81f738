// The cluster appliance as the workspace deploys it in the demo and the end-to-end test: its
// context template (Figure 1's parameters, plus what Slurm and known_hosts need: every node's
// public ssh host key and the deployment's MUNGE key) and the Figure 1 values (DNS servers,
// domain, five nodes, users).
import type { SiteFile } from "../hypervisor/ctx/site.js";

export const TORQUE_CONTEXT_TEMPLATE = `<ContextTemplate appliance="torque">
  <Param name="DNSServer" shape="list" binding="site" required="true"/>
  <Param name="domain" binding="site" required="true"/>
  <Param name="nodenames" shape="list" binding="instance" generator="nodenames"/>
  <Param name="users" shape="named-list" binding="instance" required="true"/>
  <Param name="hostname" binding="instance" generator="node-name"/>
  <Param name="address" shape="value" binding="instance" generator="address-pool" pool="cluster"/>
  <Param name="addresses" shape="list" binding="instance" generator="address-pool" pool="cluster"/>
  <Param name="hostcert" shape="named-list" binding="instance" secret="true" generator="host-certificate"/>
  <Param name="sshhostkey" shape="named-list" binding="instance" secret="true" generator="ssh-host-key"/>
  <Param name="sshknownhosts" shape="named-list" binding="instance" generator="ssh-known-hosts"/>
  <Param name="mungekey" binding="instance" secret="true" generator="shared-secret"/>
  <Param name="rootpw" binding="instance" secret="true" generator="random-password"/>
  <Param name="headnode" binding="instance" default="node1.cluster"/>
</ContextTemplate>
`;

/** Figure 1: the users' ssh keys as printed there. */
export const FIGURE1_USERS = [
  { name: "alice", value: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFigure1AliceKeyxxxxxxxxxxxxxxxxxxxxxxxxxx alice@site" },
  { name: "bob", value: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFigure1BobKeyxxxxxxxxxxxxxxxxxxxxxxxxxxxx bob@site" },
];

/** Figure 1's network: DNS 10.0.0.1 and 10.0.0.2, domain "cluster", nodes from 10.0.0.10 on; `signingKey` signs the parameter files. */
export function figure1Site(ca: { cert: string; key: string }, signingKey?: string): SiteFile {
  return {
    ...(signingKey ? { signingKey } : {}),
    domain: "cluster",
    dnsServers: ["10.0.0.1", "10.0.0.2"],
    pools: { cluster: { cidr: "10.0.0.0/24", range: ["10.0.0.10", "10.0.0.99"], gateway: "10.0.0.1", reserved: ["10.0.0.2"] } },
    ca,
  };
}

/** The cluster network the demo's namespace bridge carries (the bridge is 10.0.0.1, Figure 1's first DNS server). */
export const FIGURE1_CIDR = "10.0.0.0/24";
