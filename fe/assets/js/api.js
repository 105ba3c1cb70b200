// Calls to a product's dashboard through the FE (`?forward=<product>`); errors carry the dashboard's `Cause`.

/** An error answered by the dashboard (or the FE), with its HTTP status. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * `method path` on `product`'s dashboard; resolves with the parsed JSON answer.
 * @param {string} product
 * @param {"GET" | "PUT"} method
 * @param {string} path e.g. "/topom" or "/api/topom/group/create/XAUTH/1"
 * @param {unknown} [body]
 */
export async function call(product, method, path, body) {
  const sep = path.includes("?") ? "&" : "?";
  /** @type {Response} */
  let res;
  try {
    res = await fetch(`${path}${sep}forward=${encodeURIComponent(product)}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, `codis-fe unreachable: ${/** @type {Error} */ (e).message}`);
  }
  const text = await res.text();
  /** @type {any} */
  let json;
  try {
    json = text === "" ? null : JSON.parse(text);
  } catch {
    json = text;
  }
  if (!res.ok) {
    const cause = json && typeof json === "object" && "Cause" in json ? json.Cause : String(json || res.statusText);
    throw new ApiError(res.status, `${cause} (HTTP ${res.status})`);
  }
  return json;
}

/** The product names the FE knows. */
export async function listProducts() {
  const res = await fetch("/list", { cache: "no-store" });
  if (!res.ok) throw new ApiError(res.status, `GET /list: HTTP ${res.status}`);
  return /** @type {string[]} */ (await res.json());
}
