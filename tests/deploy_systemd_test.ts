/**
 * deploy/systemd/: `systemd-analyze verify` accepts every unit (programs swapped for /bin/true, which exists here),
 * every flag a unit passes is one its program knows, secrets come only from credential files, and the example
 * configs hold only keys of `--default-config`.
 */
import { deepEqual, equal, ok } from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;
const DIR = `${ROOT}deploy/systemd`;
const dec = new TextDecoder();

async function output(cmd: string, args: string[], cwd = ROOT): Promise<string> {
  const o = await new Deno.Command(cmd, { args, cwd, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  return dec.decode(o.stdout) + dec.decode(o.stderr);
}

/** What a program accepts: its config keys (`--default-config`) and the flags its `--help` names. */
async function knownFlags(program: string): Promise<Set<string>> {
  const cli = `cli/${program}.ts`;
  const help = await output(Deno.execPath(), ["run", "-A", "--quiet", cli, "--help"]);
  const known = new Set([...help.matchAll(/--([a-z][a-z0-9_-]*)/g)].map((m) => m[1]));
  if (program !== "codis-fe") {
    const conf = await output(Deno.execPath(), ["run", "-A", "--quiet", cli, "--default-config"]);
    for (const m of conf.matchAll(/^([a-z][a-z0-9_]*) =/gm)) known.add(m[1]);
  }
  return known;
}

Deno.test("systemd units: verified by systemd-analyze, known flags, secrets only from credentials", async () => {
  const units = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => n.endsWith(".service")).sort();
  deepEqual(units, ["codis-dashboard.service", "codis-fe.service", "codis-proxy.service", "codis-redis@.service"]);
  const tmp = await Deno.makeTempDir({ prefix: "codis-units-" });
  try {
    for (const u of units) {
      const text = await Deno.readTextFile(`${DIR}/${u}`);
      const exec = text.match(/^ExecStart=(\S+)(.*)$/m);
      ok(exec, `${u}: ExecStart`);
      const [, bin, rest] = exec;
      const words = rest.trim().split(/\s+/);
      const program = bin.split("/").pop()!;
      const credentials = [...text.matchAll(/^LoadCredential=([^:]+):(\S+)$/gm)].map((m) => m[1]);
      for (const ref of rest.matchAll(/%d\/([A-Za-z0-9_.-]+)/g)) {
        ok(credentials.includes(ref[1]), `${u}: %d/${ref[1]} without LoadCredential=${ref[1]}:...`);
      }
      if (program.startsWith("codis-")) {
        const known = await knownFlags(program);
        for (const w of words) {
          const name = w.replace(/^--/, "").split("=")[0];
          ok(known.has(name), `${u}: ${program} does not know --${name}`);
          if (/auth|secret/.test(name)) ok(name.endsWith("_file"), `${u}: --${name} puts a secret in the arguments`);
        }
      }
      await Deno.writeTextFile(`${tmp}/${u}`, text.replace(bin, "/bin/true"));
    }
    const verify = await output("systemd-analyze", ["verify", ...units.map((u) => `./${u}`)], tmp);
    equal(verify.trim(), "", "systemd-analyze verify says nothing");

    for (
      const [file, program] of [["dashboard.toml.example", "codis-dashboard"], ["proxy.toml.example", "codis-proxy"]]
    ) {
      const known = await knownFlags(program);
      const keys = [...(await Deno.readTextFile(`${DIR}/${file}`)).matchAll(/^([a-z_]+) =/gm)].map((m) => m[1]);
      ok(keys.length > 0);
      deepEqual(keys.filter((k) => !known.has(k)), [], `${file}: keys ${program} does not know`);
      ok(!keys.some((k) => /auth$|secret$/.test(k)), `${file}: no secret in the example`);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
