/**
 * Debian's chromium, headless, driven by playwright-core for the console's browser tests. Nothing downloads a
 * browser: `/usr/bin/chromium` (scripts/ensure-deps.sh installs it). Each launch gets a fresh profile directory,
 * and the flags keep chromium from calling home (its attempts would pile up on a closed network).
 * @module
 */
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Where chromium lives (Debian's package). */
export const CHROMIUM = "/usr/bin/chromium";

const FLAGS = [
  "--no-sandbox", // tests run as root
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A page in a fresh headless chromium, with what it did that a test checks. */
export interface BrowserPage {
  page: Page;
  /** Console messages of type error, and uncaught page errors. */
  consoleErrors: string[];
  /** URLs requested from an origin other than `origin`. */
  foreignRequests: string[];
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Launches chromium with a laptop-sized viewport; requests off `origin` are recorded (and refused). */
export async function openBrowser(origin: string): Promise<BrowserPage> {
  const profile = await Deno.makeTempDir({ prefix: "codis-chromium-" });
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1440, height: 900 },
    });
  } catch (e) {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw e;
  }
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin || url.startsWith("data:")) return route.continue();
    foreignRequests.push(url);
    return route.abort();
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(`uncaught: ${e.message}`));
  return {
    page,
    consoleErrors,
    foreignRequests,
    async close() {
      await context!.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/** Fills the open dialog's inputs by name and presses its OK button. */
export async function submitDialog(page: Page, values: Record<string, string> = {}): Promise<void> {
  const dlg = page.locator("dialog[open]");
  await dlg.waitFor({ timeout: 10_000 });
  const handle = await dlg.elementHandle();
  for (const [name, v] of Object.entries(values)) await dlg.locator(`input[name="${name}"]`).fill(v);
  await dlg.locator('button[value="ok"]').click();
  // Another dialog may open right away (auth, then confirm): wait for this one to go.
  await handle?.waitForElementState("hidden", { timeout: 10_000 });
}

/** The open dialog's text, after which it is closed with its Close button. */
export async function readMessage(page: Page): Promise<string> {
  const dlg = page.locator("dialog[open]");
  await dlg.waitFor({ timeout: 10_000 });
  const text = await dlg.innerText();
  await dlg.locator('button[value="close"]').click();
  return text;
}

/**
 * Deno.test options of a test that drives chromium: playwright keeps pipes to chromium that close after the test's
 * own checks, which the resource and op sanitizers would count as leaks.
 */
export const BROWSER_TEST_OPTIONS = { sanitizeResources: false, sanitizeOps: false } as const;

/** Where the console's browser tests save screenshots for a person to look at (git-ignored). */
export const SCREENSHOT_DIR = new URL("../.artifacts/fe", import.meta.url).pathname;

/**
 * The local cluster the console's browser tests run against (examples/cluster.ts's options, less `replicas`,
 * `productAuth` and `fePort`): two groups, one dashboard, two proxies, child output to files.
 */
export const CONSOLE_CLUSTER = { groups: 2, dashboards: 1, proxies: 2, output: "files" } as const;

/**
 * Opens a browser on the console at `origin` and clicks product `product` in its list; the browser is closed
 * again when that fails.
 */
export async function openConsoleProduct(origin: string, product: string): Promise<BrowserPage> {
  const browser = await openBrowser(origin);
  try {
    await browser.page.goto(`${origin}/`);
    await browser.page.locator(`#products a:text-is("${product}")`).click();
    return browser;
  } catch (e) {
    await browser.close();
    throw e;
  }
}
