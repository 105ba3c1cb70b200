/**
 * Codis's coordinator layout (CodisLabs/codis `pkg/models/store.go`): every product lives under
 * `/codis3/{product}`, and proxies advertise themselves to Jodis clients under `/jodis/{product}`.
 * @module
 */

/** Root of all products. */
export const CODIS_ROOT = "/codis3";
/** Root of Jodis registrations. */
export const JODIS_ROOT = "/jodis";

/** `/codis3/{product}`. */
export function productDir(product: string): string {
  checkName(product, "product");
  return `${CODIS_ROOT}/${product}`;
}

/** `/codis3/{product}/topom`: the dashboard's lock node, holding its Topom JSON. */
export function topomPath(product: string): string {
  return `${productDir(product)}/topom`;
}

/** `/codis3/{product}/slots`. */
export function slotsDir(product: string): string {
  return `${productDir(product)}/slots`;
}

/** `/codis3/{product}/slots/slot-0000` (4-digit zero pad). */
export function slotPath(product: string, sid: number): string {
  return `${slotsDir(product)}/slot-${pad4(sid)}`;
}

/** `/codis3/{product}/group`. */
export function groupDir(product: string): string {
  return `${productDir(product)}/group`;
}

/** `/codis3/{product}/group/group-0001` (4-digit zero pad). */
export function groupPath(product: string, gid: number): string {
  return `${groupDir(product)}/group-${pad4(gid)}`;
}

/** `/codis3/{product}/proxy`. */
export function proxyDir(product: string): string {
  return `${productDir(product)}/proxy`;
}

/** `/codis3/{product}/proxy/proxy-{token}`. */
export function proxyPath(product: string, token: string): string {
  checkName(token, "proxy token");
  return `${proxyDir(product)}/proxy-${token}`;
}

/** `/codis3/{product}/sentinel`. */
export function sentinelPath(product: string): string {
  return `${productDir(product)}/sentinel`;
}

/** `/jodis/{product}`. */
export function jodisDir(product: string): string {
  checkName(product, "product");
  return `${JODIS_ROOT}/${product}`;
}

/** `/jodis/{product}/proxy-{token}` (ephemeral, written by each proxy). */
export function jodisPath(product: string, token: string): string {
  checkName(token, "proxy token");
  return `${jodisDir(product)}/proxy-${token}`;
}

/** The product named by a `/codis3/{product}/...` path, or undefined. */
export function productOf(path: string): string | undefined {
  const m = /^\/codis3\/([^/]+)(\/|$)/.exec(path);
  return m ? m[1] : undefined;
}

/** Parses `slot-0042` → 42 and `group-0007` → 7; undefined for other names. */
export function idFromName(name: string): number | undefined {
  const m = /(?:^|\/)(?:slot|group)-(\d{4,})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function pad4(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 9999) throw new RangeError(`id ${n} out of range 0..9999`);
  return String(n).padStart(4, "0");
}

function checkName(name: string, what: string): void {
  if (!name || name.includes("/") || name === "." || name === "..") {
    throw new RangeError(`invalid ${what} ${JSON.stringify(name)}`);
  }
}
