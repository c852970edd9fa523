/**
 * The path of a request URL, read without parsing the whole URL: how the
 * middleware tells a stats request on the counting path.
 *
 * @module
 */

/**
 * The path of a request URL without parsing the whole URL, percent-decoded
 * as Hono decodes `c.req.path`. A relative URL (Bun's, for a request
 * without a Host header) is a path already.
 *
 * @example
 * ```ts
 * requestPath("http://x/_raindrops?format=json"); // "/_raindrops"
 * requestPath("/%5Fraindrops");                   // "/_raindrops"
 * ```
 */
export function requestPath(url: string): string {
  const start = pathStart(url);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  const path = query < 0 ? url.slice(start) : url.slice(start, query);
  if (!path.includes("%")) return path;
  try {
    return decodeURI(path);
  } catch {
    return path; // malformed escapes: as Hono, keep the raw path
  }
}

/** Where the path of a request URL starts (a relative URL is a path already); -1 when it has none. */
function pathStart(url: string): number {
  if (url.charCodeAt(0) === 0x2f) return 0;
  // The host starts after "http://" or "https://" (servers hand nothing else); a host holds no "/".
  const host = url.charCodeAt(4) === 0x3a ? 7 : url.charCodeAt(5) === 0x3a ? 8 : url.indexOf("//") + 2;
  return url.indexOf("/", host);
}

/**
 * Whether `url`'s path, read as {@link requestPath} reads it, is `path`,
 * comparing in place: only a path that differs from `path` by a
 * percent-escape is decoded.
 *
 * @example
 * ```ts
 * hasPath("http://x/_raindrops?format=json", "/_raindrops"); // true
 * hasPath("http://x/%5Fraindrops", "/_raindrops");           // true
 * hasPath("http://x/_raindropsx", "/_raindrops");            // false
 * ```
 */
export function hasPath(url: string, path: string): boolean {
  const start = pathStart(url);
  if (start < 0) return path === "/";
  // An escape is longer than what it decodes to, so a shorter rest cannot match (and is not read past its end,
  // which costs some engines a slow path).
  if (url.length - start < path.length) return false;
  for (let i = 0; i < path.length; i++) {
    const c = url.charCodeAt(start + i);
    if (c !== path.charCodeAt(i) || c === 0x25) return c === 0x25 && requestPath(url) === path; // "%"
  }
  // Escapes never decode to nothing, so only the end of the path or its query may follow.
  const end = start + path.length;
  return end === url.length || url.charCodeAt(end) === 0x3f; // "?"
}

/**
 * Whether `path` (a request's path) is `statsPath` under the mount point of
 * the route that runs the middleware: `routePath` as Hono tells it
 * (`/api/*` under `basePath("/api")` or `app.route("/api", sub)`, `/*` at
 * the root). Each `:param` of the mount stands for one segment; a mount
 * with an optional or inner wildcard segment is not followed.
 *
 * @example
 * ```ts
 * isMountedPath("/api/_raindrops", "/api/*", "/_raindrops");     // true
 * isMountedPath("/t/5/_raindrops", "/t/:id/*", "/_raindrops");   // true
 * isMountedPath("/api/x/_raindrops", "/api/*", "/_raindrops");   // false
 * ```
 */
export function isMountedPath(path: string, routePath: string, statsPath: string): boolean {
  if (path.length <= statsPath.length || !path.endsWith(statsPath)) return false;
  const mount = routePath.endsWith("/*")
    ? routePath.slice(0, -2)
    : routePath.endsWith("*")
    ? routePath.slice(0, -1)
    : "";
  if (mount === "" || mount.includes("*") || mount.includes("?")) return false;
  const base = path.slice(0, path.length - statsPath.length);
  if (!mount.includes(":")) return base === mount;
  const want = mount.split("/"), have = base.split("/");
  return want.length === have.length && want.every((s, i) => s.startsWith(":") ? have[i] !== "" : s === have[i]);
}
