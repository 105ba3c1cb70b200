// A tiny element builder. Text always goes through text nodes (never innerHTML): names and addresses come from
// the dashboards and must not become markup.

/**
 * Creates an element. `attrs`: `class`, `on<event>` handlers, boolean or string attributes, `dataset` object.
 * Children: nodes, strings/numbers (text), arrays, null/undefined/false (skipped).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = String(v);
    else if (k === "value") /** @type {HTMLInputElement} */ (el).value = String(v);
    else if (k === "checked") /** @type {HTMLInputElement} */ (el).checked = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

/**
 * @param {HTMLElement} el
 * @param {any[]} children
 */
function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/**
 * Replaces an element's children.
 * @param {HTMLElement} el
 * @param {...any} children
 */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * A small button.
 * @param {string} label
 * @param {() => void} onclick
 * @param {string} [cls]
 * @param {string} [title]
 */
export function button(label, onclick, cls = "", title = "") {
  return h("button", { type: "button", class: cls, onclick, title: title || undefined }, label);
}

/**
 * A link to JSON opened in a new tab.
 * @param {string} label
 * @param {string} href
 * @param {string} [title]
 */
export function jsonLink(label, href, title = "") {
  return h("a", { href, target: "_blank", rel: "noopener noreferrer", title: title || undefined }, label);
}
