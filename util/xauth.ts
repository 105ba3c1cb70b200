/**
 * Codis's admin-API credentials: the process token (md5 over the host's MAC addresses and some segments) and
 * xauth (truncated sha256 over a product's name, secret and such a token), computed exactly as Codis does so that
 * Codis tools and ours interoperate.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** `hex(sha256("Codis-XAuth" + "-[seg]"...))[0:32]` — Codis's rpc.NewXAuth. */
export function newXAuth(...segs: string[]): string {
  let text = "Codis-XAuth";
  for (const s of segs) text += `-[${s}]`;
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/** A proxy's xauth: product_auth is inside the hash, so a wrong product_auth is rejected. */
export function proxyXAuth(productName: string, productAuth: string, token: string): string {
  return newXAuth(productName, productAuth, token);
}

/**
 * The host's MAC addresses as Codis lists them: one per interface, lower-case, sorted, without interfaces that
 * have none (Deno reports "00:00:00:00:00:00" for those, e.g. loopback).
 */
export function macAddresses(): string[] {
  let ifaces: Deno.NetworkInterfaceInfo[];
  try {
    ifaces = Deno.networkInterfaces();
  } catch {
    return []; // no --allow-sys: the token is still unique enough through the addresses
  }
  const byIface = new Map<string, string>();
  for (const i of ifaces) {
    const mac = i.mac.toLowerCase();
    if (mac !== "00:00:00:00:00:00" && mac !== "") byIface.set(i.name, mac);
  }
  return [...byIface.values()].sort();
}

/** `hex(md5("Codis-Token@[mac1 mac2 ...]" + "-{seg}"...))` — Codis's rpc.NewToken. */
export function newToken(segs: string[], macs: string[] = macAddresses()): string {
  let text = `Codis-Token@[${macs.join(" ")}]`;
  for (const s of segs) text += `-{${s}}`;
  return createHash("md5").update(text).digest("hex");
}

/** A proxy's token from its product and its bound listener addresses (e.g. "0.0.0.0:19000"). */
export function proxyToken(productName: string, proxyAddr: string, adminAddr: string, macs?: string[]): string {
  return newToken([productName, proxyAddr, adminAddr], macs);
}

/** Compares two credentials in time independent of where they differ. */
export function xauthEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  if (ea.length !== eb.length) return false;
  return timingSafeEqual(ea, eb);
}
