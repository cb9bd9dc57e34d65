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

  return { csrf, post, live, showFirstError };
})();
