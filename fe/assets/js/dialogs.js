// Modal dialogs on <dialog>: confirmations for every mutating action, small forms, and messages.
import { h } from "./dom.js";

/**
 * Shows a modal and resolves with the button's value ("" when dismissed with Escape).
 * @param {HTMLElement} content
 * @param {{label: string, value: string, cls?: string}[]} buttons
 * @returns {Promise<string>}
 */
function modal(content, buttons) {
  return new Promise((resolve) => {
    const form = h(
      "form",
      { method: "dialog" },
      content,
      // Reversed in the DOM (shown in order by CSS): Enter submits with the first button, which must be the last
      // one given (OK), never Cancel. Cancel/Close skip the browser's field validation.
      h(
        "menu",
        {},
        ...[...buttons].reverse().map((b) =>
          h("button", {
            value: b.value,
            class: b.cls ?? "",
            formnovalidate: b.value === "cancel" || b.value === "close",
          }, b.label)
        ),
      ),
    );
    const dlg = /** @type {HTMLDialogElement} */ (h("dialog", {}, form));
    dlg.addEventListener("close", () => {
      resolve(dlg.returnValue);
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
    const first = /** @type {HTMLElement | null} */ (form.querySelector("input, select"));
    (first ?? /** @type {HTMLElement} */ (form.querySelector("menu button:last-child")))?.focus();
  });
}

/**
 * Asks to confirm an action; risky ones get a red "JUST DO IT" button.
 * @param {string} title
 * @param {string | HTMLElement | (string | HTMLElement)[]} body
 * @param {{danger?: boolean}} [opts]
 */
export async function confirmAction(title, body, opts = {}) {
  const content = h("div", {}, h("h3", {}, title), h("div", { class: "dlg-body" }, body));
  const ok = opts.danger ? { label: "JUST DO IT", value: "ok", cls: "danger" } : { label: "OK", value: "ok" };
  return (await modal(content, [{ label: "Cancel", value: "cancel" }, ok])) === "ok";
}

/**
 * Shows a message (an error from the dashboard, a warning, a result).
 * @param {string} title
 * @param {string | HTMLElement} body
 * @param {boolean} [error]
 */
export async function message(title, body, error = false) {
  const content = h("div", {}, h("h3", { class: error ? "err" : "" }, title), h("div", { class: "dlg-body" }, body));
  await modal(content, [{ label: "Close", value: "close" }]);
}

/**
 * @typedef {{name: string, label: string, type?: string, value?: string, placeholder?: string,
 *   required?: boolean, min?: number, max?: number, pattern?: string}} Field
 */

/**
 * Asks for a few values; resolves with them, or null when cancelled. The browser checks required/min/max/pattern.
 * @param {string} title
 * @param {Field[]} fields
 * @param {string} [note]
 * @returns {Promise<Record<string, string> | null>}
 */
export async function form(title, fields, note = "") {
  const inputs = fields.map((f) =>
    h("input", {
      name: f.name,
      type: f.type ?? "text",
      value: f.value ?? "",
      placeholder: f.placeholder,
      required: f.required ?? true,
      min: f.min,
      max: f.max,
      pattern: f.pattern,
      autocomplete: f.type === "password" ? "off" : undefined,
      spellcheck: "false",
    })
  );
  const content = h(
    "div",
    {},
    h("h3", {}, title),
    note ? h("p", { class: "note" }, note) : null,
    ...fields.map((f, i) => h("label", {}, h("span", {}, f.label), inputs[i])),
  );
  const v = await modal(content, [{ label: "Cancel", value: "cancel" }, { label: "OK", value: "ok" }]);
  if (v !== "ok") return null;
  /** @type {Record<string, string>} */
  const out = {};
  fields.forEach((f, i) => out[f.name] = /** @type {HTMLInputElement} */ (inputs[i]).value.trim());
  return out;
}
