/**
 * Small HTTP helpers for the admin APIs: JSON responses, Codis-style error bodies, a URLPattern router and
 * bounded JSON body reading.
 * @module
 */
import { join } from "./bytes.ts";

/** An error carrying the HTTP status to answer with; its message becomes the body's `Cause`. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A pretty-printed JSON response, as Codis's APIs answer. */
export function jsonResponse(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set("content-type", "application/json; charset=utf-8");
  return new Response(JSON.stringify(body, null, "    ") + "\n", { status, headers: h });
}

/** Codis's error body `{"Cause": ..., "Stack": []}` with a normal HTTP status (never Codis's 800). */
export function errorResponse(status: number, cause: string): Response {
  return jsonResponse({ Cause: cause, Stack: [] }, status);
}

/** Route parameters from the URL pattern's named groups. */
export type Params = Record<string, string>;

/** A route handler; thrown {@link HttpError}s become error responses with their status. */
export type Handler = (req: Request, params: Params, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

interface Route {
  method: string;
  pattern: URLPattern;
  handler: Handler;
}

/** A method + URLPattern router. Unknown paths get 404, known paths with another method get 405. */
export class Router {
  #routes: Route[] = [];

  /** Adds a route; `path` is a URLPattern pathname such as "/api/proxy/stats/:xauth/:flags". */
  add(method: string, path: string, handler: Handler): this {
    this.#routes.push({ method: method.toUpperCase(), pattern: new URLPattern({ pathname: path }), handler });
    return this;
  }

  /** Shorthand for `add("GET", ...)`. */
  get(path: string, handler: Handler): this {
    return this.add("GET", path, handler);
  }

  /** Shorthand for `add("PUT", ...)`. */
  put(path: string, handler: Handler): this {
    return this.add("PUT", path, handler);
  }

  /** Dispatches a request; never throws. */
  async handle(req: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
    const url = new URL(req.url);
    let pathMatched = false;
    for (const r of this.#routes) {
      const m = r.pattern.exec({ pathname: url.pathname });
      if (!m) continue;
      pathMatched = true;
      if (r.method !== req.method && !(r.method === "GET" && req.method === "HEAD")) continue;
      const params: Params = {};
      try {
        for (const [k, v] of Object.entries(m.pathname.groups)) {
          if (v !== undefined) params[k] = decodePathSegment(v);
        }
        return await r.handler(req, params, info);
      } catch (e) {
        if (e instanceof HttpError) return errorResponse(e.status, e.message);
        return errorResponse(500, e instanceof Error ? e.message : String(e));
      }
    }
    if (pathMatched) return errorResponse(405, `method ${req.method} not allowed on ${url.pathname}`);
    return errorResponse(404, `no route for ${req.method} ${url.pathname}`);
  }
}

/** Percent-decodes one path segment; malformed encoding (e.g. "%zz") is the client's mistake: a 400. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, "malformed percent-encoding in the request path");
  }
}

/**
 * Reads a request body of at most `maxBytes` (empty when there is none); undefined as soon as it grows larger, so an
 * oversized body is never buffered whole.
 */
export async function readBodyBytes(req: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  if (req.body) {
    for await (const chunk of req.body) {
      size += chunk.length;
      if (size > maxBytes) return undefined;
      chunks.push(chunk);
    }
  }
  // join's result is one of the chunks or a new array: either way backed by an ArrayBuffer.
  return join(chunks, size) as Uint8Array<ArrayBuffer>;
}

/**
 * Reads a request body of at most `maxBytes` as text (empty when there is none); a larger one is a 413, refused
 * before it is buffered whole.
 */
export async function readBodyText(req: Request, maxBytes: number): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw new HttpError(413, `request body larger than ${maxBytes} bytes`);
  const buf = await readBodyBytes(req, maxBytes);
  if (buf === undefined) throw new HttpError(413, `request body larger than ${maxBytes} bytes`);
  return new TextDecoder().decode(buf);
}

/** Reads a JSON request body of at most `maxBytes`; a missing, oversized or malformed body is a 400/413. */
export async function readJsonBody(req: Request, maxBytes = 16 << 20): Promise<unknown> {
  const text = await readBodyText(req, maxBytes);
  if (text === "") throw new HttpError(400, "missing JSON request body");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `invalid JSON body: ${(e as Error).message}`);
  }
}
