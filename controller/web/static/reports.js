// Reports: the print button, and a bulletin's or an alert's plays kept live from /live.
"use strict";
(function () {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }

  const box = document.querySelector(".plays-live[data-live]");
  if (!box || !box.dataset.live) return;
  const zones = JSON.parse(box.dataset.zones || "{}");

  // Headers double as the labels a phone shows inside each row (see reports.css).
  const heads = [...box.querySelectorAll("thead th")].map((th) => th.textContent);

  // The controller's or the point's own words (English, for a technician), folded away.
  function fold(text) {
    const details = document.createElement("details");
    details.className = "technical";
    const summary = document.createElement("summary");
    summary.textContent = box.dataset.rawLabel;
    const small = document.createElement("small");
    small.textContent = text;
    details.append(summary, small);
    return details;
  }

  function cell(row, name, text, extra) {
    const td = row.insertCell();
    td.className = name;
    const label = { airing: heads[2], started: heads[4], finished: heads[5] }[name];
    if (label) td.dataset.label = label;
    td.textContent = text || "";
    if (extra) td.append(fold(extra));
    return td;
  }

  function render(data) {
    if (!data || !data.summary) return;
    for (const [key, value] of Object.entries(data.summary)) {
      const el = box.querySelector(`[data-sum="${key}"]`);
      if (el) el.textContent = value;
    }
    const body = box.querySelector("[data-rows]");
    body.replaceChildren();
    for (const n of data.nodes) {
      const row = body.insertRow();
      row.dataset.node = n.node_id;
      row.dataset.status = n.status;
      row.dataset.category = n.category;
      cell(row, "name", n.name);
      cell(row, "village", zones[n.zone] || n.zone);
      cell(row, "airing", n.airing);
      const badge = document.createElement("span");
      badge.className = `badge status-${n.status}`;
      badge.textContent = n.status_text;
      cell(row, "status").append(badge);
      cell(row, "started", n.started_at);
      cell(row, "finished", n.finished_at);
      const reason = cell(row, "reason", n.reason_text, n.reason);
      if (n.live_text) {  // a live session: what this point carried (controller/web/live_words.py)
        const words = document.createElement("p");
        words.className = "live-figures";
        words.dataset.liveFigures = "";
        words.textContent = n.live_text;
        reason.append(words, fold(n.live_detail));
      }
    }
    const missed = box.querySelector("[data-missed]");
    missed.replaceChildren();
    // the server counts the tiles from these same rows (controller/web/plays.py)
    for (const n of data.nodes.filter((x) => x.category === "not_played")) {
      const li = document.createElement("li");
      const name = document.createElement("strong");
      name.textContent = n.name;
      li.append(name, ` (${zones[n.zone] || n.zone}) — ${n.reason_text}`);
      if (n.reason) li.append(fold(n.reason));
      missed.append(li);
    }
    if (!missed.children.length) {
      const li = document.createElement("li");
      li.className = "none";
      li.textContent = box.dataset.missedNone;
      missed.append(li);
    }
    box.dataset.updated = String(Date.now());
  }

  window.Loa.live(box.dataset.live, {
    deliveries: render,
    // the emergency page follows its alert's state from the same stream
    alert: (a) => document.dispatchEvent(new CustomEvent("loa:alert", { detail: a })),
  });
})();
