/** Prometheus/OpenMetrics metrics of a Manager and the chain follower, and the scrape endpoint. */
export { BsvWireMetrics, createManagerMetrics, METRICS_PREFIX, RTT_BUCKETS_SECONDS, REORG_DEPTH_BUCKETS, type BsvWireMetricsOptions } from './metrics.js';
export { serveMetrics, wantsOpenMetrics, METRICS_PATH, type MetricsServer, type MetricsSource } from './server.js';
