// The wire bytes of large string results (a GetConfig answer), kept while the same string comes
// back: a configuration the build cache reuses is escaped and encoded once, not on every call.
// Strings are compared by value, so an equal answer built again also hits; V8 keeps a string's
// hash in the string, so looking up the same string object again costs no rehash.
import { serializeMethodResponse } from "../../protocol/xmlrpc/serializer.js";
import type { MethodResponse } from "../../protocol/xmlrpc/values.js";

/** Below this a result is serialized each time: the memo would cost about what it saves. */
const MIN_CHARS = 4096;

export class ResponseMemo {
  private readonly wire = new Map<string, Buffer>();
  /** The bytes last in `wire` (most recently used), which a hit need not move; compared as an object, not as a long string. */
  private newest?: Buffer;
  private bytes = 0;

  constructor(private readonly maxBytes = 32 * 1024 * 1024) {}

  /** The methodResponse bytes for `res`. */
  encode(res: MethodResponse): Buffer {
    if (res.kind !== "result" || typeof res.value !== "string" || res.value.length < MIN_CHARS) {
      return Buffer.from(serializeMethodResponse(res), "utf8");
    }
    const key = res.value;
    const hit = this.wire.get(key);
    if (hit) {
      if (hit !== this.newest) {
        this.wire.delete(key); // most recently used last
        this.wire.set(key, hit);
        this.newest = hit;
      }
      return hit;
    }
    const bytes = Buffer.from(serializeMethodResponse(res), "utf8");
    if (bytes.length > this.maxBytes / 4) return bytes;
    this.wire.set(key, bytes);
    this.newest = bytes;
    this.bytes += bytes.length + key.length;
    for (const [k, b] of this.wire) {
      if (this.bytes <= this.maxBytes) break;
      if (b === this.newest) this.newest = undefined;
      this.wire.delete(k);
      this.bytes -= b.length + k.length;
    }
    return bytes;
  }
}
