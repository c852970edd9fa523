/**
 * Whether a state-changing request comes from a page of this very server,
 * told by its Origin header, and where to send the browser back, told by
 * its Referer. Beside `hostRule` (host_rule.ts): that one refuses names an
 * attacker pointed here (DNS rebinding), this one pages of other sites.
 *
 * @module
 */

/**
 * True when a request may change state as far as its Origin tells: no
 * Origin (not sent by a cross-site form or script), or one whose host is
 * `host` (the request's Host header). `Origin: null` (sandboxed frames,
 * `data:` pages, cross-origin redirects) and anything malformed are refused.
 *
 * @example
 * ```ts
 * sameOrigin("http://127.0.0.1:9418", "127.0.0.1:9418"); // true
 * sameOrigin(undefined, "127.0.0.1:9418");                // true
 * sameOrigin("null", "127.0.0.1:9418");                   // false
 * sameOrigin("https://evil.example", "127.0.0.1:9418");   // false
 * ```
 */
export function sameOrigin(origin: string | undefined, host: string): boolean {
  if (origin === undefined) return true;
  let originHost = "";
  try {
    originHost = new URL(origin).host;
  } catch { /* "null" or malformed: refused below */ }
  return originHost !== "" && originHost === host.toLowerCase();
}

/**
 * The path and query of `referer` when it is a page of `host` (the
 * request's Host header) with one leading slash, else undefined: `//x` and
 * `/\x` would send a browser to the host `x`, another host's page is not
 * ours to send it to.
 *
 * @example
 * ```ts
 * sameOriginPath("http://127.0.0.1:9418/active/x.html?a=1", "127.0.0.1:9418"); // "/active/x.html?a=1"
 * sameOriginPath("http://evil.example/", "127.0.0.1:9418");                     // undefined
 * ```
 */
export function sameOriginPath(referer: string | undefined, host: string): string | undefined {
  if (!referer) return undefined;
  let url: URL;
  try {
    url = new URL(referer);
  } catch {
    return undefined;
  }
  const path = url.pathname;
  const local = path.startsWith("/") && path[1] !== "/" && path[1] !== "\\";
  return url.host === host && local ? path + url.search : undefined;
}
