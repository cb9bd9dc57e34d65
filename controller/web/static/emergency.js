// The emergency pages: "all points" and single villages exclude each other; a sending button
// works once; the watch page follows its alert's state from the live stream (reports.js).
"use strict";
(function () {
  const all = document.querySelector("input[data-all]");
  const villages = [...document.querySelectorAll("input[data-zone]")];
  if (all) {
    all.addEventListener("change", () => {
      if (all.checked) for (const v of villages) v.checked = false;
    });
    for (const v of villages) {
      v.addEventListener("change", () => { if (v.checked) all.checked = false; });
    }
  }

  // A second tap while the first is on its way must not send twice.
  for (const form of document.querySelectorAll("form[data-once]")) {
    form.addEventListener("submit", () => {
      for (const b of form.querySelectorAll("button[type=submit]")) b.disabled = true;
    });
  }

  const watch = document.querySelector("[data-watch]");
  if (!watch) return;
  const labels = JSON.parse(watch.dataset.states || "{}");
  document.addEventListener("loa:alert", (event) => {
    const state = event.detail && event.detail.state;
    if (!state || state === watch.dataset.state) return;
    watch.dataset.state = state;
    const badge = watch.querySelector("[data-state-label]");
    badge.textContent = labels[state] || state;
    badge.className = `badge big state-${state}`;
    if (state !== "proposed" && state !== "active") {
      for (const el of watch.querySelectorAll("[data-open-only]")) el.hidden = true;
    } else if (state === "active") {
      // confirmed by someone else: only the stop form is still useful
      for (const el of watch.querySelectorAll("[data-open-only]:not(.cancel-form)")) el.hidden = true;
    }
  });
})();
