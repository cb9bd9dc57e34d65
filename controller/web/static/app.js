// Shared helpers for the pages' own scripts. No build step: plain ES2017, loaded with defer.
"use strict";
window.Loa = (function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  // fetch() that carries the CSRF token and marks itself so the server answers errors in JSON.
  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), "X-Requested-With": "fetch", Accept: "application/json" },
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    return { ok: response.ok, status: response.status, data };
  }

  // Server-Sent Events with reconnection handled by the browser; handlers per event name.
  function live(url, handlers) {
    const source = new EventSource(url);
    for (const [name, handler] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
    }
    return source;
  }

  // A refused form comes back as a page that opens at its top, where a phone shows nothing of
  // the error: bring the first field marked invalid (or, failing one, the first error message)
  // into view and focus it, so the error is seen where the action was.
  function showFirstError(root = document) {
    const field = root.querySelector('[aria-invalid="true"]');
    const message = root.querySelector(
      '.field-error:not([hidden]), main [role="alert"]:not([hidden])'
    );
    const target = field || message;
    if (!target || !target.getClientRects().length) return;
    if (!field) target.tabIndex = -1;
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  }
  document.addEventListener("DOMContentLoaded", () => showFirstError());

  // "Thêm" in the menu: open in line on a wide screen; on a phone a tap elsewhere or Escape
  // folds it away again so it never covers the page.
  const wide = window.matchMedia("(min-width: 960px)");
  document.addEventListener("DOMContentLoaded", () => {
    const more = document.querySelector("[data-more]");
    if (!more) return;
    const fit = () => { more.open = wide.matches; };
    fit();
    wide.addEventListener("change", fit);
    document.addEventListener("click", (event) => {
      if (!wide.matches && more.open && !more.contains(event.target)) more.open = false;
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !wide.matches && more.open) {
        more.open = false;
        more.querySelector("summary").focus();
      }
    });
  });

  return { csrf, post, live, showFirstError };
})();
