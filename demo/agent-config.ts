// The agent configuration (/etc/vacfg.conf, bcfg2.conf's sections) a demo or test guest gets:
// the configuration server, the node's name and the site password, the server's CA, retries while
// the server may not answer yet. No profile: the server derives the node's role from its parameters.
export function guestAgentConfig(server: string, user: string, password: string): string {
  return ["[components]", `bcfg2 = ${server}`, "[communication]", `user = ${user}`, `password = ${password}`, "ca = /etc/vacfg/server-ca.pem", "retries = 5", "retry_delay = 3", ""].join("\n");
}
