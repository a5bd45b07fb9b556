/** Gates between batches: metric gates against Prometheus (DESIGN.md "Gates"). */
export { type GateStanding, gateStanding, judgeReading, type MeasurementVerdict } from "./gate-verdict.js";
export { queryPrometheus, type Reading, readingOf } from "./prometheus.js";
