// Execution-time statistics for get_statistics, as upstream Bcfg2.Server.Statistics keeps them:
// name → (min, max, mean, count), seconds.
import { XmlRpcDouble, type XmlRpcValue } from "../../protocol/xmlrpc/values.js";

interface Stat {
  min: number;
  max: number;
  mean: number;
  count: number;
}

export class Timings {
  private readonly data = new Map<string, Stat>();

  add(name: string, seconds: number): void {
    const s = this.data.get(name);
    if (!s) {
      this.data.set(name, { min: seconds, max: seconds, mean: seconds, count: 1 });
      return;
    }
    s.min = Math.min(s.min, seconds);
    s.max = Math.max(s.max, seconds);
    s.count += 1;
    s.mean = (s.mean * (s.count - 1) + seconds) / s.count;
  }

  /** Times an async step under `name` (recorded also when it throws, as upstream's decorator does). */
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.add(name, (performance.now() - start) / 1e3);
    }
  }

  get(name: string): Stat | undefined {
    const s = this.data.get(name);
    return s ? { ...s } : undefined;
  }

  /** The get_statistics struct: name → [min, max, mean (doubles), count (int)], like upstream's tuples. */
  display(): Record<string, XmlRpcValue> {
    const out: Record<string, XmlRpcValue> = {};
    for (const [name, s] of this.data) {
      out[name] = [new XmlRpcDouble(s.min), new XmlRpcDouble(s.max), new XmlRpcDouble(s.mean), s.count];
    }
    return out;
  }
}
