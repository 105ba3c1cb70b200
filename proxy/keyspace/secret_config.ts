/**
 * Which Redis configuration parameters CONFIG GET through the proxy answers with an empty value: the backends' are
 * the product's (product_auth is their requirepass), not the client's to read.
 * @module
 */

/**
 * Redis 7's parameters flagged SENSITIVE_CONFIG (requirepass, masterauth, tls-key-file-pass,
 * tls-client-key-file-pass), and masteruser, which names the account masterauth opens.
 */
const SECRET_PARAMETERS: ReadonlySet<string> = new Set([
  "requirepass",
  "masterauth",
  "masteruser",
  "tls-key-file-pass",
  "tls-client-key-file-pass",
]);

/**
 * True for a parameter whose value is a secret: the known ones, and any name with "pass" or "secret" in it, so a
 * password parameter added by a later Redis is masked before anyone lists it here.
 */
export function isSecretConfigParameter(name: string): boolean {
  const n = name.toLowerCase();
  return SECRET_PARAMETERS.has(n) || n.includes("pass") || n.includes("secret");
}
