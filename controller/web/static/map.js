// The offline node map: tapping a point toggles its checkbox; live status recolours points.
"use strict";
(function () {
  function sync(figure) {
    const field = figure.dataset.field;
    figure.querySelectorAll("g.point").forEach((g) => {
      const box = document.querySelector(`input[name="${field}"][value="${g.dataset.nodeId}"]`);
      const on = !!(box && box.checked);
      g.classList.toggle("selected", on);
      g.setAttribute("aria-checked", on ? "true" : "false");
    });
  }

  function toggle(figure, g) {
    const box = document.querySelector(`input[name="${figure.dataset.field}"][value="${g.dataset.nodeId}"]`);
    if (!box || box.disabled) return;
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
    sync(figure);
  }

  document.querySelectorAll("figure.node-map.selectable").forEach((figure) => {
    figure.querySelectorAll("g.point").forEach((g) => {
      g.addEventListener("click", () => toggle(figure, g));
      g.addEventListener("keydown", (e) => {
        if (e.key === " " || e.key === "Enter") { e.preventDefault(); toggle(figure, g); }
      });
    });
    document.addEventListener("change", () => sync(figure));
    sync(figure);
  });

  // Pages with a live stream call this with the `nodes` event's rows.
  window.LoaMap = {
    update(rows) {
      for (const row of rows) {
        document.querySelectorAll(`figure.node-map g.point[data-node-id="${row.id}"]`).forEach((g) => {
          g.classList.remove("status-online", "status-offline", "status-playing");
          g.classList.add(`status-${row.status}`);
        });
      }
    },
  };
})();
