// Minimal typings for parse-prometheus-text-format 1.1.1 (a CommonJS module: its one export is the default
// import under ESM), the independent text-format parser the metrics tests read scrapes with.
declare module 'parse-prometheus-text-format' {
  export interface ParsedSample {
    readonly labels?: Readonly<Record<string, string>>;
    /** Counters, gauges and untyped samples. */
    readonly value?: string;
    /** Histograms: upper bound ("+Inf" included) to cumulative count. */
    readonly buckets?: Readonly<Record<string, string>>;
    /** Summaries: quantile to value. */
    readonly quantiles?: Readonly<Record<string, string>>;
    readonly count?: string;
    readonly sum?: string;
  }
  export interface ParsedFamily {
    readonly name: string;
    readonly help: string;
    readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    readonly metrics: readonly ParsedSample[];
  }
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}
