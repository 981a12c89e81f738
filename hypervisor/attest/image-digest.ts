// sha256 of an image file's bytes, streamed (images are hundreds of MiB to GiB).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) h.update(chunk as Buffer);
  return "sha256:" + h.digest("hex");
}
