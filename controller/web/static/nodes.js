// Loudspeaker points: live status from /live (event `nodes`) into the list rows, the map and a
// point's own page; the volume slider; following a control command until the point answers.
"use strict";
(function () {
  const texts = document.getElementById("node-texts");
  if (!texts) return;
  const say = texts.dataset;
  const steps = say.steps.split(",").map(Number);
  const warnMs = Number(say.warnMs);

  function setText(root, field, text) {
    root.querySelectorAll(`[data-field="${field}"]`).forEach((el) => { el.textContent = text; });
  }

  function clockText(ms) {
    if (ms === null || ms === undefined) return { text: "–", far: false };
    const whole = Math.round(ms);
    const far = Math.abs(ms) > warnMs;
    return { text: `${whole >= 0 ? "+" : "-"}${Math.abs(whole)} ms${far ? ` (${say.far})` : ""}`, far };
  }

  function fill(root, row) {
    root.dataset.status = row.status;
    root.querySelectorAll('[data-field="status"]').forEach((badge) => {
      badge.className = `badge status-${row.status}`;
      badge.textContent = say[row.status] || row.status;
    });
    root.querySelectorAll('[data-field="playing"]').forEach((el) => { el.hidden = row.status !== "playing"; });
    const tone = (row.playing || "").startsWith("test-tone.") ? say.tone : "";
    setText(root, "playing_title", row.playing_title || tone || row.playing || "");
    setText(root, "last_seen", row.last_seen || "–");
    setText(root, "volume", row.volume === null || row.volume === undefined ? "–" : String(row.volume));
    const wired = row.signal_dbm === null || row.signal_dbm === undefined;
    root.querySelectorAll(".bars").forEach((bars) => {
      bars.hidden = wired;
      bars.dataset.bars = wired ? "" : String(steps.filter((s) => row.signal_dbm >= s).length);
    });
    const cell = row.cell_pct === null || row.cell_pct === undefined ? say.wired : `4G ${row.cell_pct}%`;
    setText(root, "signal_text", wired ? cell : `${row.signal_dbm} dBm`);
    const clock = clockText(row.clock_offset_ms);
    root.querySelectorAll('[data-field="clock"]').forEach((el) => {
      el.textContent = clock.text;
      el.classList.toggle("warn", clock.far);
    });
    if (row.agent_version !== undefined) setText(root, "version", row.agent_version || "–");
    const warnings = (row.warnings || []).length;
    root.querySelectorAll('[data-field="warnings"]').forEach((el) => { el.hidden = warnings === 0; });
    setText(root, "warning_count", String(warnings));
  }

  const list = document.getElementById("node-list");
  const count = document.getElementById("node-count");

  function refilter() {
    if (!list) return;
    const wanted = list.dataset.filterStatus;
    const rows = list.querySelectorAll("li.node-row");
    let shown = 0;
    rows.forEach((li) => {
      li.hidden = !!wanted && li.dataset.status !== wanted;
      if (!li.hidden) shown += 1;
    });
    if (count) count.textContent = count.dataset.template.replace("{shown}", shown).replace("{total}", rows.length);
  }

  // The volume box shows what the point reports, until the user starts typing a new one.
  const range = document.getElementById("volume-range");
  const number = document.getElementById("volume");
  let typed = !!number && number.getAttribute("aria-invalid") === "true";
  const volumeOf = number && number.form ? number.form.dataset.volumeOf : null;
  function follow(row) {
    if (!number || typed || row.id !== volumeOf || row.volume === null || row.volume === undefined) return;
    number.value = String(row.volume);
    if (range) range.value = String(row.volume);
  }

  Loa.live("/live", {
    nodes(rows) {
      for (const row of rows) {
        document.querySelectorAll(`.node-row[data-node-id="${row.id}"]`).forEach((root) => fill(root, row));
        follow(row);
      }
      if (window.LoaMap) window.LoaMap.update(rows);
      refilter();
    },
  });

  // The filters apply as soon as one is picked; the button stays for use without scripts.
  const filter = document.getElementById("node-filter");
  if (filter) {
    filter.querySelectorAll("select").forEach((s) => s.addEventListener("change", () => filter.submit()));
  }

  // The slider and the number box move together; the number box is what the form sends.
  if (range && number) {
    range.hidden = false;
    range.addEventListener("input", () => { typed = true; number.value = range.value; });
    number.addEventListener("input", () => { typed = true; if (number.value !== "") range.value = number.value; });
  }

  // A control command: ask how it stands until the point has answered (or it ran out).
  const outcome = document.getElementById("command-outcome");
  if (outcome && outcome.dataset.result === "pending") {
    const follow = async () => {
      const response = await fetch(outcome.dataset.url, {
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch", Accept: "application/json" },
      });
      if (!response.ok) return;
      const data = await response.json();
      outcome.querySelector("[data-outcome-text]").textContent = data.text;
      outcome.dataset.result = data.result;
      if (data.result === "pending") { setTimeout(follow, 1500); return; }
      outcome.className = data.result === "acked" ? "success" : "error";
    };
    setTimeout(follow, 1000);
  }
})();
