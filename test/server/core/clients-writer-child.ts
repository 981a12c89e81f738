// Child process for the cross-process clients.xml test: adds COUNT clients named PREFIX<i>.
import { editClientsXml, insertClient, setClientAttr } from "../../../server/plugins/metadata/clients-writer.js";

const [path, prefix, count] = process.argv.slice(2);
for (let i = 0; i < Number(count); i++) {
  await editClientsXml(path, (t) => insertClient(t, `${prefix}${i}`, [["profile", "web"]]));
  await editClientsXml(path, (t) => setClientAttr(t, `${prefix}${i}`, "version", `v${i}`));
}
