/**
 * The console's Load section in a real browser (Debian's chromium, headless) against a live local cluster under a
 * skewed workload: the heat map colours the hot slot, the hot-keys table (once the product's auth is set) names the
 * hot key, and Rebalance by Load shows the plan with the expected load per group, then queues it. A screenshot is
 * saved under .artifacts/fe/ (git-ignored).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { type Cluster, startCluster } from "../examples/cluster.ts";
import {
  BROWSER_TEST_OPTIONS,
  type BrowserPage,
  CONSOLE_CLUSTER,
  openConsoleProduct,
  SCREENSHOT_DIR,
  submitDialog,
} from "../testing/browser.ts";
import { freePort } from "../testing/ports.ts";
import { type SkewedLoad, startSkewedLoad } from "../testing/skewed_load.ts";
import { until } from "../testing/wait.ts";

const SHOTS = SCREENSHOT_DIR;
const AUTH = "console-pw";

Deno.test({
  name: "console in chromium: the slot heat map, the hot keys and Rebalance by Load",
  ...BROWSER_TEST_OPTIONS,
  fn: async () => {
    let cluster: Cluster | null = null;
    let browser: BrowserPage | null = null;
    let load: SkewedLoad | undefined;
    try {
      await Deno.mkdir(SHOTS, { recursive: true });
      cluster = await startCluster({ ...CONSOLE_CLUSTER, replicas: 0, productAuth: AUTH, fePort: freePort() });
      const c = cluster;
      load = await startSkewedLoad(c.proxyAddrs);
      const { hotKey, hotSlot } = load;
      const dash = c.dashboards[0].addr;
      type SlotMapping = { id: number; group_id: number; action?: { state?: string } };
      const mappings = async () => (await (await fetch(`http://${dash}/topom/stats`)).json()).slots as SlotMapping[];
      const slots = await mappings();
      const hotGroup = slots[hotSlot].group_id;

      const origin = `http://${c.feAddr}`;
      browser = await openConsoleProduct(origin, c.productName);
      const { page } = browser;
      await page.locator("#load canvas.heatmap").waitFor({ timeout: 15_000 });
      await page.locator("#load", { hasText: "Set the product's auth" }).waitFor();

      // The hot slot's cell is the reddest of the map (the heat map has one 12 px cell per slot, 32 a row).
      await until("the hot slot is the hottest cell", 20_000, async () => {
        const [r, g] = await page.evaluate(`(() => {
          const c = document.querySelector("#load canvas.heatmap");
          const d = window.devicePixelRatio || 1;
          return [...c.getContext("2d").getImageData(((${hotSlot} % 32) * 12 + 5) * d, (Math.floor(${hotSlot} / 32) * 12 + 5) * d, 1, 1).data];
        })()`) as number[];
        return r === 190 && g === 20 ? true : undefined;
      }, 500);

      // With the auth set, the hot keys show, the hot key first.
      await page.locator('#auth button:text-is("Set auth")').click();
      await submitDialog(page, { auth: AUTH });
      const first = page.locator("#load table.grid tbody tr").first();
      await first.locator(`td:text-is("${hotKey}")`).waitFor({ timeout: 15_000 });
      equal(await first.locator("td").nth(1).innerText(), String(hotSlot));
      match(await page.locator("#load .group-load").innerText(), new RegExp(`group ${hotGroup}: \\d+`));
      await page.locator("#load").screenshot({ path: `${SHOTS}/load.png` });

      // Rebalance by Load: the plan with the expected load per group, confirmed, then queued and run.
      await page.locator('#load button:text-is("Rebalance by Load")').click();
      const dlg = page.locator("dialog[open]");
      await dlg.locator("ul.load-plan").waitFor({ timeout: 15_000 });
      const plan = await dlg.innerText();
      match(plan, /group 1: \d+ → \d+ ops\/s/);
      match(plan, /group 2: \d+ → \d+ ops\/s/);
      match(plan, new RegExp(`group ${hotGroup} → group ${3 - hotGroup}`));
      await submitDialog(page);
      await until("the planned slots moved", 60_000, async () => {
        const now = await mappings();
        const moved = now.filter((s, i) => s.group_id !== slots[i].group_id);
        return moved.length > 0 && !now.some((s) => s.action?.state) ? true : undefined;
      }, 300);
      deepEqual(browser.foreignRequests, [], "requests to other origins");
      deepEqual(browser.consoleErrors, []);
      ok(true);
    } finally {
      await load?.stop();
      await browser?.close();
      await cluster?.stop();
    }
  },
});
