// Child process for the cross-process clients.xml test: adds COUNT clients named PREFIX<i>.
import { editClientsXml } from "../../../../server/plugins/metadata/clients-writer.js";

const [path, prefix, count] = process.argv.slice(2);
for (let i = 0; i < Number(count); i++) {
  await editClientsXml(path, { op: "insert", name: `${prefix}${i}`, attrs: [["profile", "web"]] });
  await editClientsXml(path, { op: "set", name: `${prefix}${i}`, attr: "version", value: `v${i}` });
}
