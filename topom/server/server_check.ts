/**
 * The checks before `group/add` accepts a server: reachable, `product_auth` accepted, at least 1024 databases;
 * `hz` below 100 is accepted with a warning. (Membership in another group is checked by the pure transition.)
 * @module
 */
import { checkBackend } from "../../proxy/backend/check.ts";
import { TopomError } from "../context.ts";

/** Checks `addr`; throws TopomError (400) naming the problem, or returns a warning. */
export async function checkServer(addr: string, auth: string): Promise<string | undefined> {
  try {
    const facts = await checkBackend(addr, auth, 3000);
    return facts.warnings.length > 0 ? facts.warnings.join("; ") : undefined;
  } catch (e) {
    throw new TopomError((e as Error).message.replace(/^backend /, "server "), 400);
  }
}
