/**
 * The checks before `group/add` accepts a server (topom/executor's checkServer): reachable, `product_auth`
 * accepted, at least 1024 databases; `hz` below 100 is accepted with a warning. Membership in another group is
 * checked by the pure transition.
 * @module
 */
import { TopomError } from "../context.ts";
import { checkServer as probe, ServerCheckError } from "../executor/mod.ts";

/** Checks `addr`; throws TopomError (400) naming the problem, or returns a warning. */
export async function checkServer(addr: string, auth: string): Promise<string | undefined> {
  try {
    const facts = await probe(addr, auth, 3000);
    return facts.warnings.length > 0 ? facts.warnings.join("; ") : undefined;
  } catch (e) {
    if (e instanceof ServerCheckError) throw new TopomError(e.message, 400);
    throw new TopomError(`server ${addr}: ${(e as Error).message}`, 400);
  }
}
