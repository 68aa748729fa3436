// What a request to `now vis` must show before anything is read: the page is for this
// user's browser only. The token (random per start) is the first path segment, so only
// who was shown the URL can read; Host must name the loopback address we listen on (a
// DNS-rebinding page comes with its own host name); an Origin, when a browser sends one,
// must be the page's own (another site's script cannot use the user's browser as proxy).
import crypto from "crypto";
import type { IncomingHttpHeaders } from "http";

export function newToken(): string {
  return crypto.randomBytes(24).toString("base64url");
}

/** Equal strings, compared in time that does not depend on where they differ. */
export function sameToken(given: string, token: string): boolean {
  const a = crypto.createHash("sha256").update(given).digest();
  const b = crypto.createHash("sha256").update(token).digest();
  return crypto.timingSafeEqual(a, b) && given.length === token.length;
}

export function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

/**
 * The path after the token ("" for the page itself), or null when the request must be
 * refused: wrong or missing token, foreign Host, foreign Origin.
 */
export function admit(url: string, headers: IncomingHttpHeaders, port: number, token: string): string | null {
  const hosts = allowedHosts(port);
  const host = (headers.host ?? "").toLowerCase();
  if (!hosts.includes(host)) return null;
  const origin = headers.origin;
  if (origin !== undefined && !hosts.some((h) => origin.toLowerCase() === `http://${h}`)) return null;
  const pathname = url.split("?")[0];
  const m = /^\/([^/]*)(\/.*)?$/.exec(pathname);
  if (!m || !sameToken(m[1], token)) return null;
  return (m[2] ?? "").replace(/^\//, "");
}

export const SECURITY_HEADERS: Record<string, string> = {
  // Scripts from this server only; the layout library compiles WebAssembly.
  "Content-Security-Policy": [
    "default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "style-src 'self'",
    "img-src 'self' data:", "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join("; "),
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cache-Control": "no-store",
  "Cross-Origin-Resource-Policy": "same-origin",
};
