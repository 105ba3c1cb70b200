/**
 * A Markdown summary of the proxy's command policy (for the README): split and local commands, and every refused
 * command grouped by its reason. Run `deno run proxy/commands/describe.ts` to print it for the builtin table.
 * @module
 */
import { CMD_CONTAINER } from "./flags.ts";
import { REASONS } from "./policy.ts";
import { type CommandInfo, CommandTable, HIDDEN_COMMANDS } from "./table.ts";

function uniform(c: CommandInfo): boolean {
  return (c.subcommands ?? []).every((s) => s.policy === c.policy && s.reason === c.reason);
}

/** Renders the policy of every command in `table` as Markdown. */
export function policyMarkdown(table: CommandTable): string {
  const split: string[] = [], local: string[] = [];
  const refused = new Map<string, string[]>();
  for (const info of table.allWithSubcommands()) {
    if (HIDDEN_COMMANDS.has(info.name)) continue;
    // A container stands for its subcommands when they all share its policy; otherwise they are listed one by one.
    const p = info.parent;
    if (p && uniform(p)) continue;
    const container = (info.flags & CMD_CONTAINER) !== 0;
    if (container && !uniform(info)) continue;
    const name = container ? `${info.displayName} *` : info.displayName;
    if (info.policy === "split") split.push(name);
    else if (info.policy === "local") local.push(name);
    else if (info.policy === "refused") {
      const list = refused.get(info.reason!) ?? [];
      list.push(name);
      refused.set(info.reason!, list);
    }
  }
  const lines = [
    `Split per key and coalesced: ${split.join(", ")}.`,
    "",
    `Answered by the proxy: ${local.join(", ")}.`,
    "",
    "Every other command with keys is forwarded to the slot of its keys; all keys of one command must share a slot",
    "(else `CROSSSLOT`). Refused (error `ERR command 'X' is not supported by codis-proxy: <reason>`):",
    "",
    "| reason | commands (`*` = all subcommands) |",
    "|---|---|",
  ];
  for (const [reason, names] of refused) lines.push(`| ${reason} | ${names.join(", ")} |`);
  lines.push(
    "",
    `Refused per call: COPY with DB (${REASONS.copyDb}); SORT/SORT_RO with a BY or GET pattern outside the`,
    `key's slot (${REASONS.sortPattern}). EVAL/EVALSHA/FCALL with no keys run on slot 0's master.`,
  );
  return lines.join("\n") + "\n";
}

if (import.meta.main) console.log(policyMarkdown(CommandTable.builtin()));
