// Prometheus metrics of one server process: a small registry (counters, histograms, gauges read at
// scrape time) rendered in the text exposition format 0.0.4, and the server's own metric set
// (XML-RPC requests per method, errors by code, GetConfig build time, clients by state).
// Counters are per process: with several workers, Prometheus sums them over the scraped targets.

type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function num(n: number): string {
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return Number.isNaN(n) ? "NaN" : String(n);
}

/** One string per label set, whatever the order of its names (counted on every request: no sort of entries). */
function keyOf(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = "";
  for (const n of names) key += `${n}=${JSON.stringify(labels[n])},`;
  return key;
}

interface Metric {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  /** Sample lines, without HELP/TYPE. */
  samples(): Promise<string[]> | string[];
}

export class Counter implements Metric {
  readonly type = "counter";
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    this.cell(labels).value += by;
  }
  /** The value of one label set, to add to directly (a caller counting the same set on every request). */
  cell(labels: Labels): { value: number } {
    const k = keyOf(labels);
    let cur = this.values.get(k);
    if (!cur) this.values.set(k, (cur = { labels, value: 0 }));
    return cur;
  }
  get(labels: Labels = {}): number {
    return this.values.get(keyOf(labels))?.value ?? 0;
  }
  samples(): string[] {
    return [...this.values.values()].map((v) => `${this.name}${labelText(v.labels)} ${num(v.value)}`);
  }
}

/** Seconds buckets suited to request handling: 1 ms … 30 s. */
export const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Histogram implements Metric {
  readonly type = "histogram";
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[] = DEFAULT_BUCKETS,
  ) {}
  observe(value: number, labels: Labels = {}): void {
    this.observer(labels)(value);
  }
  /** Observes into one label set (a caller observing the same set on every request). */
  observer(labels: Labels): (value: number) => void {
    const k = keyOf(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    const series = s;
    return (value) => {
      for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) series.counts[i]++;
      series.sum += value;
      series.count++;
    };
  }
  samples(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${labelText(s.labels, ["le", num(b)])} ${s.counts[i]}`));
      out.push(`${this.name}_bucket${labelText(s.labels, ["le", "+Inf"])} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${num(s.sum)}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

/** A gauge whose values are read when scraped (e.g. from the store). */
export class CollectedGauge implements Metric {
  readonly type = "gauge";
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect: () => Promise<Array<{ labels: Labels; value: number }>>,
  ) {}
  async samples(): Promise<string[]> {
    return (await this.collect()).map((v) => `${this.name}${labelText(v.labels)} ${num(v.value)}`);
  }
}

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];
  register<M extends Metric>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.push(m);
    return m;
  }
  /** The text exposition format; a collector that fails is skipped (and named in a comment). */
  async render(): Promise<string> {
    const lines: string[] = [];
    for (const m of this.metrics) {
      let samples: string[];
      try {
        samples = await m.samples();
      } catch (e) {
        lines.push(`# ${m.name} not collected: ${String((e as Error).message ?? e).replace(/\n/g, " ")}`);
        continue;
      }
      lines.push(`# HELP ${m.name} ${m.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${m.name} ${m.type}`, ...samples);
    }
    return lines.join("\n") + "\n";
  }
}

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The XML-RPC method label: known names as they are, anything else as "other" (bounded label set). */
const KNOWN_METHODS = new Set([
  "AssertProfile", "DeclareVersion", "GetProbes", "RecvProbeData", "GetDecisionList", "GetConfig", "RecvStats",
  "listMethods", "methodHelp", "get_statistics", "toggle_debug", "set_debug", "expire_metadata_cache",
]);

export interface ServerMetrics {
  registry: MetricsRegistry;
  requests: Counter;
  errors: Counter;
  getConfigSeconds: Histogram;
  requestSeconds: Histogram;
  /** Called by the XML-RPC handler once per request it answers. */
  observeRequest(r: { method?: string; status: number; fault?: number; seconds: number }): void;
}

/**
 * The server's metric set. `clientStates` (optional) gives the number of clients per state at scrape
 * time (the reporting model provides it from the store).
 */
export function createServerMetrics(clientStates?: () => Promise<Record<string, number>>): ServerMetrics {
  const registry = new MetricsRegistry();
  const requests = registry.register(new Counter("vacfg_xmlrpc_requests_total", "XML-RPC requests answered, by method and HTTP status."));
  const errors = registry.register(new Counter("vacfg_xmlrpc_errors_total", "Refused or failed XML-RPC requests: kind=fault (faultCode) or kind=http (status)."));
  const requestSeconds = registry.register(new Histogram("vacfg_xmlrpc_request_seconds", "Time to answer an XML-RPC request, by method."));
  const getConfigSeconds = registry.register(new Histogram("vacfg_getconfig_seconds", "Time to build and send one GetConfig answer."));
  // Which process answered (several workers share one port) and how much memory it holds.
  registry.register(new CollectedGauge("vacfg_process_info", "1 for this server process, labelled with its pid.", async () => [{ labels: { pid: String(process.pid) }, value: 1 }]));
  registry.register(new CollectedGauge("process_resident_memory_bytes", "Resident set size of this process.", async () => [{ labels: {}, value: process.memoryUsage.rss() }]));
  if (clientStates) {
    registry.register(
      new CollectedGauge("vacfg_clients", "Clients by reporting state (newest run; stale = no run within the stale interval).", async () =>
        Object.entries(await clientStates()).map(([state, value]) => ({ labels: { state }, value })),
      ),
    );
  }
  /** What one kind of request (method label, status, fault) counts, found once per kind (the labels are bounded). */
  const kinds = new Map<string, (seconds: number) => void>();
  const kind = (m: string, status: number, fault: number | undefined): ((seconds: number) => void) => {
    const count = requests.cell({ method: m, status: String(status) });
    const timed = m !== "none" ? requestSeconds.observer({ method: m }) : undefined;
    const error = fault !== undefined ? errors.cell({ kind: "fault", code: String(fault) }) : status !== 200 ? errors.cell({ kind: "http", code: String(status) }) : undefined;
    const built = m === "GetConfig" && status === 200 && fault === undefined ? getConfigSeconds.observer({}) : undefined;
    return (seconds) => {
      count.value++;
      timed?.(seconds);
      if (error) error.value++;
      built?.(seconds);
    };
  };
  /** The kinds answered 200 without a fault, by method name: most requests, found without building a key. */
  const answered = new Map<string, (seconds: number) => void>();
  const observeRequest: ServerMetrics["observeRequest"] = ({ method, status, fault, seconds }) => {
    if (status === 200 && fault === undefined && method !== undefined) {
      const seen = answered.get(method);
      if (seen) return seen(seconds);
    }
    // Caller-chosen names must not grow the label set: plugin RMI names count only once they ran.
    const ran = status === 200 && fault !== -32601;
    const m = method === undefined ? "none" : KNOWN_METHODS.has(method) || (ran && /^[A-Za-z]\w{0,40}\.\w{1,60}$/.test(method)) ? method : "other";
    const k = `${m} ${status} ${fault ?? ""}`;
    let observe = kinds.get(k);
    if (!observe) kinds.set(k, (observe = kind(m, status, fault)));
    if (status === 200 && fault === undefined && m === method) answered.set(m, observe);
    observe(seconds);
  };
  return { registry, requests, errors, getConfigSeconds, requestSeconds, observeRequest };
}
