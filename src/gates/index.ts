/** Gates between batches: metric gates against Prometheus (DESIGN.md "Gates"). */
export { gateStanding, judgeReading, type GateStanding, type MeasurementVerdict } from "./gate-verdict.js";
export { queryPrometheus, type Reading, readingOf } from "./prometheus.js";
