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

  return { csrf, post, live };
})();
