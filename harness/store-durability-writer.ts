// Child process for the durability check: records runs in a loop and prints each id only
// after recordRun resolved, until it is SIGKILLed. Usage: node store-durability-writer.js URL CLIENT
import { openStore } from "../server/store/open-store.js";
import { durabilityRun } from "./store-durability.js";

async function main(url: string, client: string): Promise<void> {
  const store = await openStore(url);
  for (let seq = 0; ; seq++) {
    const id = await store.recordRun(durabilityRun(client, seq));
    // stdout to a pipe is synchronous on Linux: once write returns, the parent will read the line.
    process.stdout.write(`${id}\n`);
  }
}

const [url, client] = process.argv.slice(2);
main(url, client).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
