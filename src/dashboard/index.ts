// `hookline/dashboard`: the operator's pages as one request handler, mounted by the application.
export type { DashboardAction, DashboardHandler, DashboardOptions, DashboardSender } from './handler.js';
export { dashboard } from './handler.js';
