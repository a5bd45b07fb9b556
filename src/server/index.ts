/** The HTTP API, the dashboard and the metrics of `ferry serve`. */
export { checkBearer, generateToken } from "./bearer-auth.js";
export { type RunningServer, type ServerOptions, startServer } from "./start-server.js";
