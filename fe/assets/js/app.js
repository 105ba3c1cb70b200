// The console's main module: product list (sidebar, `#product` in the URL), the refresh loop (1–60 s, default 3),
// and the action runner every view uses (auth, confirmation, error display from the dashboard's JSON).
import { ApiError, call, listProducts } from "./api.js";
import { ensureXAuth, forgetXAuth, storedXAuth } from "./auth.js";
import { confirmAction, form, message } from "./dialogs.js";
import { button, h, replace } from "./dom.js";
import { overview } from "./format.js";
import { renderGroups } from "./views/groups.js";
import { QPS_HISTORY, renderOverview } from "./views/overview.js";
import { renderProxies } from "./views/proxies.js";
import { renderSentinels } from "./views/sentinels.js";
import { renderSlots } from "./views/slots.js";
import { renderLoad } from "./views/load.js";

/**
 * @typedef {{title: string, body?: any, danger?: boolean, path: (xauth: string) => string, payload?: unknown,
 *   quiet?: boolean}} Action
 * @typedef {{product: string, topom: any, raft: any, link: (path: string) => string,
 *   ask: typeof form, say: (title: string, body: string) => Promise<void>,
 *   act: (a: Action) => Promise<any>}} ViewCtx
 */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const HISTORY = QPS_HISTORY;

const state = {
  /** @type {string[]} */
  products: [],
  product: "",
  interval: clampInterval(Number(localStorage.getItem("codis-fe.interval") ?? 3)),
  /** @type {Map<string, number[]>} */
  qps: new Map(),
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  timer: undefined,
  busy: false,
};

/** @param {number} v */
function clampInterval(v) {
  return Number.isFinite(v) ? Math.min(60, Math.max(1, Math.round(v))) : 3;
}

/** @param {string} text */
function toast(text) {
  const t = $("toast");
  replace(t, text);
  t.classList.add("show");
  setTimeout(() => t.classList.remove("show"), 2500);
}

/** @param {string} text */
function banner(text) {
  const b = $("banner");
  replace(b, text);
  b.hidden = !text;
}

/**
 * Runs a dashboard PUT: asks for the product_auth if needed, confirms when the action has a body, shows the
 * dashboard's error (or a warning it answered with), and refreshes the page.
 * @param {Action} a
 */
async function act(a) {
  const product = state.product;
  for (let attempt = 0; attempt < 2; attempt++) {
    const x = await ensureXAuth(product);
    if (!x) return undefined;
    if (attempt === 0 && a.body !== undefined && !(await confirmAction(a.title, a.body, { danger: a.danger }))) {
      return undefined;
    }
    try {
      const r = await call(product, "PUT", `/api/topom/${a.path(x)}`, a.payload);
      if (r && typeof r === "object" && "warning" in r) await message(`${a.title}: done, with a warning`, r.warning);
      else if (!a.quiet) toast(`${a.title}: OK`);
      scheduleRefresh(300);
      return r;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        forgetXAuth(product); // wrong or changed product_auth: ask again
        continue;
      }
      await message(`${a.title} failed`, /** @type {Error} */ (e).message, true);
      scheduleRefresh(300);
      return undefined;
    }
  }
  return undefined;
}

function renderSidebar() {
  const items = state.products.map((p) =>
    h("li", {}, h("a", { href: `#${encodeURIComponent(p)}`, class: p === state.product ? "active" : "" }, p))
  );
  replace($("products"), items.length ? items : h("li", { class: "empty" }, "no products"));
  const x = state.product && storedXAuth(state.product);
  replace(
    $("auth"),
    state.product
      ? [
        h("span", { class: x ? "good" : "muted" }, x ? "auth set" : "no auth yet"),
        " ",
        x
          ? button("Forget", () => {
            forgetXAuth(state.product);
            renderSidebar();
          }, "small")
          : button("Set auth", async () => {
            await ensureXAuth(state.product);
            renderSidebar();
          }, "small"),
      ]
      : [],
  );
}

async function loadProducts() {
  try {
    state.products = await listProducts();
  } catch (e) {
    banner(/** @type {Error} */ (e).message);
  }
  const fromHash = decodeURIComponent(location.hash.slice(1));
  if (fromHash && state.products.includes(fromHash)) state.product = fromHash;
  else if (!state.products.includes(state.product)) state.product = state.products[0] ?? "";
  renderSidebar();
}

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  try {
    await loadProducts();
    const product = state.product;
    $("content").hidden = !product;
    if (!product) {
      banner(state.products.length ? "" : "No products found: check codis-fe's discovery flags.");
      return;
    }
    const [topom, raft] = await Promise.all([
      call(product, "GET", "/topom"),
      call(product, "GET", "/api/topom/raft/status").catch(() => undefined),
    ]);
    if (product !== state.product) return; // switched meanwhile
    banner("");
    const hist = state.qps.get(product) ?? [];
    hist.push(overview(topom).qps);
    if (hist.length > HISTORY) hist.shift();
    state.qps.set(product, hist);
    /** @type {ViewCtx} */
    const ctx = {
      product,
      topom,
      raft,
      link: (path) => `${path}?forward=${encodeURIComponent(product)}`,
      ask: form,
      say: (title, body) => message(title, body),
      act,
    };
    document.title = `Codis · ${product}`;
    renderOverview($("overview"), ctx, hist);
    renderProxies($("proxies"), ctx);
    renderSlots($("slots"), ctx);
    await renderLoad($("load"), ctx);
    renderGroups($("groups"), ctx);
    renderSentinels($("sentinels"), ctx);
  } catch (e) {
    banner(`${state.product}: ${/** @type {Error} */ (e).message}`);
  } finally {
    state.busy = false;
  }
}

/** @param {number} [ms] */
function scheduleRefresh(ms) {
  clearTimeout(state.timer);
  state.timer = setTimeout(async () => {
    if (!document.hidden) await refresh();
    scheduleRefresh();
  }, ms ?? state.interval * 1000);
}

function setupInterval() {
  const input = /** @type {HTMLInputElement} */ ($("interval"));
  const show = () => replace($("interval-text"), `${state.interval} s`);
  input.value = String(state.interval);
  show();
  input.addEventListener("input", () => {
    state.interval = clampInterval(Number(input.value));
    localStorage.setItem("codis-fe.interval", String(state.interval));
    show();
    scheduleRefresh();
  });
}

addEventListener("hashchange", () => {
  const p = decodeURIComponent(location.hash.slice(1));
  if (p && p !== state.product) {
    state.product = p;
    replace($("overview"), h("p", { class: "muted" }, `loading ${p} …`));
    scheduleRefresh(0);
  }
});
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) scheduleRefresh(0);
});
setupInterval();
scheduleRefresh(0);
