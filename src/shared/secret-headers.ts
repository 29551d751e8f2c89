/** Headers kept by name only: their value is a credential. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);
/** `x-api-key`, `x-auth-token`, `x-client-secret`, `x-db-password`, ... */
const SECRET_SUFFIX = /[-_](?:key|token|secret|password|passwd|credentials?)$/;
/** What stands for a credential's value in the attempt log and in the operator tools. */
export const REDACTED = '[redacted]';

/** Whether a header's value is a credential, never to be logged or shown. */
export function isSecretHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_HEADERS.has(lower) || SECRET_SUFFIX.test(lower);
}

/** The headers with every credential's value replaced by `[redacted]`. */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const shown: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) shown[name] = isSecretHeader(name) ? REDACTED : value;
  return shown;
}
