import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from './guarded-lookup.js';
export interface Agents {
  http: http.Agent;
  https: https.Agent;
  destroy(): void;
}

/**
 * The sender's own keep-alive agents. A socket pooled by the application's
 * own requests (through the global agent) is never reused for a webhook, so
 * every connection a webhook uses went through the guarded lookup.
 */
export function createAgents(lookup: LookupFunction, maxSockets: number): Agents {
  const options = {
    keepAlive: true,
    maxSockets,
    maxFreeSockets: Math.min(maxSockets, 256),
    scheduling: 'lifo' as const,
    lookup,
  };
  const agents = {
    http: new http.Agent(options as http.AgentOptions),
    https: new https.Agent(options as https.AgentOptions),
    destroy() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
  return agents;
}
