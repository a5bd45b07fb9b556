/** Probes of a host's state: health gates (http, tcp, exec) and the durations they are given in. */
export {
  type HealthCheck,
  type ProbeEvent,
  type ProbeOptions,
  type ProbeResult,
  parseDuration,
  probeOnce,
  type WaitHealthyOptions,
  type WaitHealthyResult,
  waitHealthy,
} from "./health-probe.js";
