/**
 * The web console in a real browser (Debian's chromium, headless) against a live local cluster: each view shows
 * what the dashboard's API says, the operator's changes made through the console's dialogs land in the dashboard,
 * errors show the dashboard's Cause, nothing comes from another origin, and the page logs no error. A screenshot
 * of each view is saved under .artifacts/fe/ (git-ignored) for a person to look at.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { type Cluster, startCluster } from "../examples/cluster.ts";
import { main as adminMain } from "../cli/codis-admin.ts";
import {
  BROWSER_TEST_OPTIONS,
  type BrowserPage,
  CONSOLE_CLUSTER,
  openConsoleProduct,
  readMessage,
  SCREENSHOT_DIR,
  submitDialog,
} from "../testing/browser.ts";
import { startRedis } from "../testing/redis.ts";
import { startSentinel } from "../testing/dashboard.ts";
import { startCodisProxy } from "../testing/codis_proxy.ts";
import { freePort } from "../testing/ports.ts";
import { until } from "../testing/wait.ts";

const SHOTS = SCREENSHOT_DIR;
const AUTH = "console-pw";

/** codis-admin in this process, with the product's auth from the environment-free --auth-file. */
async function adm(args: string[]): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await adminMain(args, (l) => out.push(l), (l) => err.push(l));
  equal(code, 0, `codis-admin ${args.join(" ")}: ${err.join("\n")}`);
  return out.join("\n");
}

Deno.test({
  name: "console in chromium: views match the API, operator changes land, errors show the Cause",
  ...BROWSER_TEST_OPTIONS,
  fn: async () => {
    let cluster: Cluster | null = null;
    let browser: BrowserPage | null = null;
    const extras: { stop(): Promise<void> }[] = [];
    const dir = await Deno.makeTempDir({ prefix: "codis-fe-browser-" });
    try {
      await Deno.mkdir(SHOTS, { recursive: true });
      cluster = await startCluster({ ...CONSOLE_CLUSTER, replicas: 1, productAuth: AUTH, fePort: freePort() });
      const c = cluster;
      const authFile = `${dir}/auth`;
      await Deno.writeTextFile(authFile, AUTH, { mode: 0o600 });
      const D = [`--dashboard=${c.dashboardList}`, `--auth-file=${authFile}`];
      const sentinel = await startSentinel();
      extras.push(sentinel);
      await adm([...D, "--sentinel-add", `--addr=${sentinel.addr}`]);
      const spare = await startRedis({ requirepass: AUTH });
      extras.push(spare);
      const topom = await (await fetch(`http://${c.dashboards[0].addr}/topom`)).json();

      const origin = `http://${c.feAddr}`;
      browser = await openConsoleProduct(origin, c.productName);
      const { page } = browser;
      await page.locator("#overview strong").first().waitFor();
      await page.locator("#proxies tr", { hasText: c.proxyAdminAddrs[c.proxyAdminAddrs.length - 1] }).waitFor({
        timeout: 15_000,
      });

      // Overview, proxies, slots, groups and sentinels show what GET /topom says.
      const overview = await page.locator("#overview").innerText();
      match(overview, new RegExp(`Product\\s+${c.productName}`));
      ok(overview.includes(topom.model.admin_addr), overview);
      const proxies = await page.locator("#proxies").innerText();
      for (const p of topom.stats.proxy.models) ok(proxies.includes(p.admin_addr), `${p.admin_addr} in ${proxies}`);
      // The groups view fills in after the proxies view: wait (bounded) until it names every server, then check.
      const servers: string[] = topom.stats.group.models.flatMap((g: { servers: { server: string }[] }) =>
        g.servers.map((s) => s.server)
      );
      await until("the groups view to list every server", 15_000, async () => {
        const text = await page.locator("#groups").innerText();
        return servers.every((s) => text.includes(s)) ? true : undefined;
      }).catch(() => {});
      const groups = await page.locator("#groups").innerText();
      for (const g of topom.stats.group.models) {
        for (const s of g.servers) ok(groups.includes(s.server), `${s.server} in the groups view`);
      }
      const slots = await page.locator("#slots").innerText();
      const perGroup = new Map<number, number>();
      for (const s of topom.stats.slots) perGroup.set(s.group_id, (perGroup.get(s.group_id) ?? 0) + 1);
      for (const [g, n] of perGroup) ok(slots.includes(`group ${g}: ${n}`), `group ${g}: ${n} in the slots view`);
      ok((await page.locator("#sentinels").innerText()).includes(sentinel.addr), "the sentinel is listed");
      for (const view of ["overview", "proxies", "slots", "groups", "sentinels"]) {
        await page.locator(`#${view}`).screenshot({ path: `${SHOTS}/${view}.png` });
      }
      await page.mouse.wheel(0, -10_000); // the sticky header belongs at the top of a full-page shot
      await page.screenshot({ path: `${SHOTS}/page.png`, fullPage: true });

      // Create a group: its form, then the credentials dialog (product_auth), then the confirmation.
      await page.locator('#groups button:text-is("New Group")').click();
      await submitDialog(page, { gid: "3" });
      await submitDialog(page, { auth: AUTH });
      await submitDialog(page);
      await until("group 3 exists", 10_000, async () => {
        const list = JSON.parse(await adm([...D, "--list-group"])) as { id: number }[];
        return list.some((g) => g.id === 3) ? true : undefined;
      });

      // The same again: the dashboard refuses and the console shows its Cause.
      await page.locator('#groups button:text-is("New Group")').click();
      await submitDialog(page, { gid: "3" });
      await submitDialog(page);
      match(await readMessage(page), /group-\[3\] already exists/);

      // Add a server to group 3.
      await page.locator('#groups button:text-is("Add Server")').first().click();
      await submitDialog(page, { addr: spare.addr, gid: "3" });
      await submitDialog(page);
      await until("the server joins group 3", 10_000, async () => {
        const g = (JSON.parse(await adm([...D, "--list-group"])) as Group[]).find((g) => g.id === 3);
        return g?.servers.some((s) => s.server === spare.addr) ? true : undefined;
      });

      // Migrate a range of slots to group 2 and watch it finish in the console.
      await page.locator('#slots button:text-is("Migrate Range")').click();
      await submitDialog(page, { beg: "0", end: "15", gid: "2" });
      await submitDialog(page);
      await until("slots 0-15 are in group 2", 60_000, async () => {
        const s = JSON.parse(await adm([...D, "slots"])) as { id: number; group_id: number; action?: object }[];
        return s.slice(0, 16).every((x) => x.group_id === 2 && !Object.keys(x.action ?? {}).length) ? true : undefined;
      }, 300);
      await page.locator("#slots", { hasText: "Slot[0015] done" }).waitFor({ timeout: 15_000 });
      await page.locator("#slots").screenshot({ path: `${SHOTS}/slots-migrated.png` });

      // Promote group 1's replica.
      const [master1, replica1] = c.groups.get(1)!;
      await page.locator(`#groups tr:has-text("${replica1}") button:text-is("PROMOTE")`).click();
      await submitDialog(page);
      await until("the replica of group 1 is its master", 30_000, async () => {
        const g = (JSON.parse(await adm([...D, "--list-group"])) as Group[]).find((g) => g.id === 1)!;
        return g.servers[0].server === replica1 ? true : undefined;
      }, 300);
      ok(master1);

      // Add a proxy, then remove it.
      const p3 = await startCodisProxy([`--product_name=${c.productName}`, `--backend=${replica1}`], {
        CODIS_PRODUCT_AUTH: AUTH,
        CODIS_SESSION_AUTH: AUTH,
      });
      extras.push(p3);
      const p3Admin = `127.0.0.1:${p3.adminPort}`;
      await page.locator('#proxies button:text-is("New Proxy")').click();
      await submitDialog(page, { addr: p3Admin });
      await submitDialog(page);
      await until("proxy 3 is listed", 15_000, async () => {
        const l = JSON.parse(await adm([...D, "--list-proxy"])) as { admin_addr: string }[];
        return l.some((p) => p.admin_addr === p3Admin) ? true : undefined;
      }, 300);
      const row = page.locator(`#proxies tr:has-text("${p3Admin}")`);
      await row.waitFor({ timeout: 15_000 });
      await row.locator('button:text-is("✕")').click();
      await submitDialog(page);
      await until("proxy 3 is gone", 15_000, async () => {
        const l = JSON.parse(await adm([...D, "--list-proxy"])) as { admin_addr: string }[];
        return l.some((p) => p.admin_addr === p3Admin) ? undefined : true;
      }, 300);

      await page.waitForTimeout(1500); // one more refresh after the last change
      await page.mouse.wheel(0, -10_000);
      await page.screenshot({ path: `${SHOTS}/page-after.png`, fullPage: true });
      const width = await page.evaluate("document.documentElement.scrollWidth") as number;
      ok(width <= 1440, `the page fits a 1440 px window without scrolling sideways (${width} px)`);
      deepEqual(browser.foreignRequests, [], "requests to other origins");
      // The one the browser logs itself for the refused "New group" above; the page's script logs nothing.
      deepEqual(browser.consoleErrors, [
        "Failed to load resource: the server responded with a status of 409 (Conflict)",
      ]);
    } finally {
      await browser?.close();
      for (const e of extras) await e.stop().catch(() => {});
      await cluster?.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

interface Group {
  id: number;
  servers: { server: string }[];
}
