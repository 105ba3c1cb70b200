// The dashboard's xauth, computed in the browser exactly as util/xauth.ts's newXAuth does:
// hex(sha256("Codis-XAuth" + "-[seg]"...))[0:32], with segs = product_name, product_auth.
// No DOM here, so Deno can import this module and check it against the server's function.
import { sha256Hex } from "./sha256.js";

/**
 * Codis's rpc.NewXAuth over UTF-8 text; Web Crypto when available, the plain-JS digest otherwise.
 * @param {...string} segs
 * @returns {Promise<string>}
 */
export async function newXAuth(...segs) {
  let text = "Codis-XAuth";
  for (const s of segs) text += `-[${s}]`;
  const bytes = new TextEncoder().encode(text);
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return sha256Hex(bytes).slice(0, 32);
  const digest = new Uint8Array(await subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, 32);
}

/**
 * The xauth of a product's dashboard API (codis-deno puts product_auth in it, unlike Codis).
 * @param {string} product
 * @param {string} auth
 * @returns {Promise<string>}
 */
export function dashboardXAuth(product, auth) {
  return newXAuth(product, auth);
}
