// The live line dashboard: one page in the browser, fed by server-sent events, read-only.
export {
  checkDashboardExposure,
  type Dashboard,
  type DashboardOptions,
  startDashboard,
} from "./server.js";
export type { DashboardMessage } from "./snapshots.js";
