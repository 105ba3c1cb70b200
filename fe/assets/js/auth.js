// Per product, the dashboard xauth derived from the product_auth the operator types. Only the xauth is kept, in
// sessionStorage (gone when the tab closes); product_auth itself (also the Redis password) is never stored.
import { call } from "./api.js";
import { form } from "./dialogs.js";
import { dashboardXAuth } from "./xauth.js";

const KEY = "codis-fe.xauth.";

/**
 * The stored xauth of `product`, if any.
 * @param {string} product
 */
export function storedXAuth(product) {
  return sessionStorage.getItem(KEY + product) ?? "";
}

/**
 * Forgets `product`'s xauth (after a 401, or on "log out").
 * @param {string} product
 */
export function forgetXAuth(product) {
  sessionStorage.removeItem(KEY + product);
}

/**
 * The xauth of `product`: the stored one, or one from a product_auth asked now and checked with `xping`.
 * Resolves with "" when the operator cancels.
 * @param {string} product
 * @returns {Promise<string>}
 */
export async function ensureXAuth(product) {
  const have = storedXAuth(product);
  if (have) return have;
  let note = `Actions on product "${product}" need its product_auth (empty when it has none). ` +
    "It stays in this tab: only a hash is kept, in session storage.";
  for (let attempt = 0; attempt < 5; attempt++) {
    const v = await form("Product auth", [
      { name: "auth", label: "product_auth", type: "password", required: false },
    ], note);
    if (v === null) return "";
    const x = await dashboardXAuth(product, v.auth);
    try {
      await call(product, "GET", `/api/topom/xping/${x}`);
    } catch (e) {
      note = `Refused: ${/** @type {Error} */ (e).message}`;
      continue;
    }
    sessionStorage.setItem(KEY + product, x);
    return x;
  }
  return "";
}
