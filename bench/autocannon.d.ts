// Just the part of autocannon's programmatic API the benchmark uses (the package ships no types).
declare module "autocannon" {
  interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p90: number;
    p97_5: number;
    p99: number;
    p99_9: number;
  }
  interface RequestSpec {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    setupRequest?: (req: RequestSpec, context: Record<string, unknown>) => RequestSpec | null;
    onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string>) => void;
  }
  interface Options {
    url: string;
    connections?: number;
    pipelining?: number;
    duration?: number;
    timeout?: number;
    method?: string;
    headers?: Record<string, string>;
    requests?: RequestSpec[];
    initialContext?: Record<string, unknown>;
    excludeErrorStats?: boolean;
    /** Return the raw result (encoded histograms), to be merged later with aggregateResult. */
    skipAggregateResult?: boolean;
  }
  /** What a run with skipAggregateResult gives: counters plus encoded histograms. */
  interface RawResult {
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    "2xx": number;
    totalRequests: number;
    totalCompletedRequests: number;
    statusCodeStats: Record<string, { count: number }>;
    [k: string]: unknown;
  }
  interface Result {
    latency: Histogram;
    requests: Histogram & { sent: number };
    throughput: Histogram;
    duration: number;
    errors: number;
    timeouts: number;
    mismatches: number;
    non2xx: number;
    resets: number;
    "1xx": number;
    "2xx": number;
    "3xx": number;
    "4xx": number;
    "5xx": number;
    statusCodeStats?: Record<string, { count: number }>;
    start: Date;
    finish: Date;
  }
  function autocannon(opts: Options & { skipAggregateResult: true }): Promise<RawResult> & { stop(): void };
  function autocannon(opts: Options): Promise<Result> & { stop(): void };
  namespace autocannon {
    /** Merge raw results (latency histograms included) of several runs into one result. */
    function aggregateResult(results: RawResult[], opts: { url: string; connections?: number; pipelining?: number }): Result;
  }
  export default autocannon;
  export type { Options, Result, RawResult, RequestSpec, Histogram };
}
