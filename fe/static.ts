/**
 * The FE's static files: GET/HEAD only, from one directory, never outside it (no `..`, no encoded separators,
 * no symlink leading out), with a content type per extension and headers that keep the page self-contained.
 * @module
 */
import { errorResponse } from "../util/http.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

/** Headers every page answer carries: no inline script, no framing, no referrer, no sniffing. */
export const PAGE_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

/**
 * Maps a URL pathname to a file path relative to the assets root, or undefined when it could leave the root.
 * "/" is "index.html". Segments are percent-decoded one by one, so "%2e%2e" and "%2f" cannot sneak through.
 */
export function safeRelativePath(pathname: string): string | undefined {
  const segs: string[] = [];
  for (const raw of pathname.split("/")) {
    if (raw === "") continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (seg === "." || seg === ".." || seg.startsWith(".") || /[\/\\\0]/.test(seg)) return undefined;
    segs.push(seg);
  }
  if (segs.length === 0) return "index.html";
  return segs.join("/");
}

function contentType(path: string): string {
  const i = path.lastIndexOf(".");
  return TYPES[i >= 0 ? path.slice(i).toLowerCase() : ""] ?? "application/octet-stream";
}

/** Serves files under `root` (an absolute directory path). */
export function staticHandler(root: string): (req: Request) => Promise<Response> {
  const realRoot = Deno.realPath(root);
  return async (req) => {
    if (req.method !== "GET" && req.method !== "HEAD") return errorResponse(405, `method ${req.method} not allowed`);
    const rel = safeRelativePath(new URL(req.url).pathname);
    if (rel === undefined) return errorResponse(403, "path not allowed");
    const base = await realRoot;
    let real: string;
    try {
      real = await Deno.realPath(`${base}/${rel}`);
    } catch {
      return errorResponse(404, "not found");
    }
    if (!real.startsWith(base + "/")) return errorResponse(403, "path not allowed");
    let data: Uint8Array<ArrayBuffer>;
    try {
      const st = await Deno.stat(real);
      if (!st.isFile) return errorResponse(404, "not found");
      data = await Deno.readFile(real);
    } catch {
      return errorResponse(404, "not found");
    }
    const headers = { ...PAGE_HEADERS, "content-type": contentType(real), "cache-control": "no-cache" };
    return new Response(req.method === "HEAD" ? null : data, { status: 200, headers });
  };
}
