// Composing a bulletin and choosing where and when. Nothing is lost: typed fields live in
// localStorage, the recording or chosen file in IndexedDB, until the server has them; an
// expired session or a dropped connection shows a message and keeps everything for a retry.
"use strict";
(function () {
  // --- storage ------------------------------------------------------------------------------
  const store = {
    load(key) {
      try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; }
    },
    save(key, value) {
      try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* full or private */ }
    },
    drop(key) { try { localStorage.removeItem(key); } catch (e) { /* ignore */ } },
  };

  // One IndexedDB object store holding the audio not yet accepted by the server.
  function idb() {
    return new Promise((resolve, reject) => {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      const open = indexedDB.open("loa-lang", 1);
      open.onupgradeneeded = () => open.result.createObjectStore("pending-audio");
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
  }
  async function idbDo(mode, action) {
    const db = await idb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction("pending-audio", mode);
      const request = action(tx.objectStore("pending-audio"));
      tx.oncomplete = () => { db.close(); resolve(request && request.result); };
      tx.onerror = () => { db.close(); reject(tx.error); };
    });
  }
  const audioStore = {
    put: (key, value) => idbDo("readwrite", (s) => s.put(value, key)).catch(() => null),
    get: (key) => idbDo("readonly", (s) => s.get(key)).catch(() => null),
    drop: (key) => idbDo("readwrite", (s) => s.delete(key)).catch(() => null),
  };

  // --- messages next to fields ----------------------------------------------------------------
  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach((p) => { p.textContent = ""; p.hidden = true; });
    form.querySelectorAll('[aria-invalid="true"]').forEach((el) => el.removeAttribute("aria-invalid"));
  }

  function showErrors(form, errors) {
    let first = null;
    for (const [field, message] of Object.entries(errors || {})) {
      const slot = document.getElementById(`${field}-error`);
      if (slot) { slot.textContent = message; slot.hidden = false; }
      const target = form.querySelector(`[aria-describedby="${field}-error"]`);
      if (target) { target.setAttribute("aria-invalid", "true"); first = first || target; }
      else if (slot) { first = first || slot; }
    }
    if (first) first.scrollIntoView({ block: "center" });
    return !!first;
  }

  function say(element, text) {
    element.textContent = text || "";
    element.hidden = !text;
  }

  // After a new login (perhaps in another tab) the page's CSRF token is stale: fetch the new one.
  async function refreshToken() {
    try {
      const r = await fetch("/session/csrf", {
        credentials: "same-origin", headers: { "X-Requested-With": "fetch", Accept: "application/json" },
      });
      if (!r.ok) return false;
      const data = await r.json();
      document.querySelector('meta[name="csrf-token"]').content = data.csrf;
      document.querySelectorAll('input[name="csrf"]').forEach((i) => { i.value = data.csrf; });
      return true;
    } catch (e) { return false; }
  }

  // An upload with progress (fetch cannot report it); answers like Loa.post.
  function upload(url, body, onProgress) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRF-Token", Loa.csrf());
      xhr.setRequestHeader("X-Requested-With", "fetch");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) onProgress(Math.round((100 * e.loaded) / e.total));
      });
      xhr.addEventListener("load", () => {
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = {}; }
        resolve({ ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, data });
      });
      xhr.addEventListener("error", () => resolve({ ok: false, status: 0, data: {} }));
      xhr.send(body);
    });
  }

  // Send, and if the token was stale (a new login since the page loaded), renew it and send again.
  async function sendWithRetry(send, state) {
    if (state.stale) state.stale = !(await refreshToken());
    let answer = await send();
    if (answer.status === 403 && (await refreshToken())) answer = await send();
    state.stale = answer.status === 401;
    return answer;
  }

  function busy(button, on) {
    if (!button.dataset.label) button.dataset.label = button.textContent;
    button.disabled = on;
    button.textContent = on ? button.dataset.busy : button.dataset.label;
  }

  // --- the compose form ---------------------------------------------------------------------
  function composeForm(form) {
    const key = `loa.compose.${form.dataset.user}`;
    const audioKey = `compose.${form.dataset.user}`;
    const fields = ["title", "text", "voice"];
    const message = document.getElementById("compose-message");
    const login = document.getElementById("compose-login");
    const submit = document.getElementById("compose-submit");
    const progressBox = document.getElementById("compose-progress");
    const progress = document.getElementById("upload-progress");
    const fileInput = document.getElementById("file");
    const fileKept = document.getElementById("file-kept");
    const state = { stale: false };
    let pending = null; // {blob, name, source} not yet accepted by the server

    const source = () => form.querySelector('input[name="source"]:checked')?.value || "record";
    function showPanels() {
      form.querySelectorAll(".source-panel").forEach((p) => { p.hidden = p.dataset.source !== source(); });
      // the denoiser choice is for sound the user brings, not for speech made from text
      form.querySelectorAll("[data-sources]").forEach((p) => { p.hidden = !p.dataset.sources.split(" ").includes(source()); });
    }
    function saveFields() {
      const values = { source: source() };
      for (const name of fields) values[name] = form.elements[name].value;
      store.save(key, values);
    }

    // Restore what was typed, unless the server just sent the form back with its own copy.
    const saved = store.load(key);
    const serverFilled = fields.some((n) => form.elements[n].value && n !== "voice") ||
      form.querySelector(".field-error:not([hidden])");
    if (saved && !serverFilled) {
      let restored = false;
      for (const name of fields) {
        if (saved[name]) { form.elements[name].value = saved[name]; restored = restored || name !== "voice"; }
      }
      const radio = form.querySelector(`input[name="source"][value="${saved.source}"]`);
      if (radio) radio.checked = true;
      if (restored) document.getElementById("compose-restored").hidden = false;
    }
    showPanels();
    form.addEventListener("input", saveFields);
    form.addEventListener("change", (e) => { if (e.target.name === "source") showPanels(); saveFields(); });

    // --- recording
    const toggle = document.getElementById("record-toggle");
    const playback = document.getElementById("record-playback");
    const again = document.getElementById("record-again");

    function showRecording(blob) {  // a recording kept from before a login redirect
      if (playback.src) URL.revokeObjectURL(playback.src);
      playback.src = URL.createObjectURL(blob);
      playback.hidden = false;
      again.hidden = false;
    }
    if (!window.LoaRecorder || !LoaRecorder.supported()) {
      document.getElementById("record-unsupported").hidden = false;
      toggle.disabled = true;
    } else {
      LoaRecorder.controls("record", {
        before: () => clearErrors(form),
        onStart: () => { again.hidden = true; },
        onStop(blob) {
          const name = `ghi-am.${LoaRecorder.extension(blob.type)}`;
          pending = { blob, name, source: "record" };
          audioStore.put(audioKey, pending);
          again.hidden = false;
        },
        onDenied: (text) => say(message, text),
      });
    }
    again.addEventListener("click", () => {
      pending = null;
      audioStore.drop(audioKey);
      playback.hidden = true;
      again.hidden = true;
      document.getElementById("record-timer").textContent = "00:00";
      toggle.click();
    });

    // --- a chosen file is kept too: after a login redirect the file input is empty again
    // A chosen file proposes a title from its name, visible and editable, never silently kept
    let proposed = "";
    fileInput.addEventListener("change", () => {
      const file = fileInput.files[0];
      if (!file) return;
      const title = form.elements.title;
      if (!title.value.trim() || title.value === proposed) {
        proposed = file.name.replace(/\.[^.]*$/, "").replace(/[_\-.+]+/g, " ").trim();
        title.value = proposed;
        saveFields();
      }
      pending = { blob: file, name: file.name, source: "file" };
      audioStore.put(audioKey, pending);
      fileKept.hidden = true;
    });
    audioStore.get(audioKey).then((kept) => {
      if (!kept || pending) return;
      pending = kept;
      if (kept.source === "record") showRecording(kept.blob);
      else { say(fileKept, fileKept.dataset.template.replace("{name}", kept.name)); }
      document.getElementById("compose-restored").hidden = false;
    });

    // --- how the text will be read, shown as it is typed (asked for once typing pauses)
    const reading = document.getElementById("tts-reading");
    let readingTimer = null;
    let readingAsked = 0;
    const showReading = async () => {
      const text = form.elements.text.value;
      const asked = ++readingAsked;
      if (!text.trim()) { reading.hidden = true; return; }
      const body = new FormData();
      body.append("text", text);
      body.append("voice", form.elements.voice.value); // the South reads "ngàn", "lẻ"
      const answer = await Loa.post("/bulletins/speech-text", body).catch(() => null);
      if (asked !== readingAsked || !answer || !answer.ok) return; // a newer text is on its way
      reading.querySelector("span").textContent = answer.data.spoken;
      reading.hidden = false;
    };
    form.elements.text.addEventListener("input", () => {
      clearTimeout(readingTimer);
      readingTimer = setTimeout(showReading, 400);
    });
    form.elements.voice.addEventListener("change", showReading);
    if (form.elements.text.value.trim()) showReading();

    // --- listen to the text before sending
    const listen = document.getElementById("tts-listen");
    const preview = document.getElementById("tts-preview");
    listen.addEventListener("click", async () => {
      clearErrors(form);
      say(message, "");
      const body = new FormData();
      body.append("text", form.elements.text.value);
      body.append("voice", form.elements.voice.value);
      busy(listen, true);
      const send = () => fetch("/bulletins/speech-preview", {
        method: "POST", body, credentials: "same-origin",
        headers: { "X-CSRF-Token": Loa.csrf(), "X-Requested-With": "fetch" },
      }).then(async (r) => ({
        ok: r.ok, status: r.status, blob: r.ok ? await r.blob() : null,
        data: r.ok ? {} : await r.json().catch(() => ({})),
      })).catch(() => ({ ok: false, status: 0, data: {} }));
      const answer = await sendWithRetry(send, state);
      busy(listen, false);
      if (answer.ok) {
        if (preview.src) URL.revokeObjectURL(preview.src);
        preview.src = URL.createObjectURL(answer.blob);
        preview.hidden = false;
        preview.play().catch(() => null);
        return;
      }
      failed(answer);
    });

    function failed(answer) {
      login.hidden = answer.status !== 401;
      if (answer.status === 0) { say(message, message.dataset.network); return; }
      if (!showErrors(form, answer.data.errors)) say(message, answer.data.detail || message.dataset.network);
      else if (answer.status === 401) say(message, answer.data.detail);
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      say(message, "");
      const body = new FormData();
      body.append("source", source());
      for (const name of fields) body.append(name, form.elements[name].value);
      body.append("denoise", form.elements.denoise.value);
      const chosen = source() === "file" ? fileInput.files[0] : null;
      if (chosen) body.append("file", chosen, chosen.name);
      else if (pending && pending.source === source()) body.append("file", pending.blob, pending.name);
      busy(submit, true);
      progressBox.hidden = false;
      progress.removeAttribute("value"); // indeterminate until the upload reports progress
      const answer = await sendWithRetry(
        () => upload(form.action, body, (pct) => {
          progress.value = pct;
          if (pct >= 100) progress.removeAttribute("value"); // now the server is processing
        }),
        state,
      );
      progressBox.hidden = true;
      busy(submit, false);
      if (answer.ok) {
        store.drop(key);
        await audioStore.drop(audioKey);
        window.location.assign(answer.data.url);
        return;
      }
      failed(answer);
    });
  }

  // --- where and when ---------------------------------------------------------------------
  function requestForm(form) {
    const key = `loa.request.${form.dataset.user}.${form.dataset.bulletin}`;
    const message = document.getElementById("request-message");
    const login = document.getElementById("request-login");
    const button = form.querySelector('button[type="submit"]');
    const state = { stale: false };

    function snapshot() {
      const values = {};
      for (const el of form.elements) {
        if (!el.name || el.name === "csrf" || el.tagName === "BUTTON") continue;
        if (el.type === "radio" || el.type === "checkbox") {
          if (el.checked) (values[el.name] = values[el.name] || []).push(el.value);
        } else values[el.name] = el.value;
      }
      return values;
    }
    function apply(values) {
      for (const el of form.elements) {
        if (!el.name || el.name === "csrf" || el.tagName === "BUTTON" || !(el.name in values)) continue;
        if (el.type === "radio" || el.type === "checkbox") el.checked = values[el.name].includes(el.value);
        else el.value = values[el.name];
      }
      // unchecked groups were left out of the snapshot
      for (const el of form.elements) {
        if ((el.type === "checkbox") && !(el.name in values)) el.checked = false;
      }
    }
    function showChoices() {
      const chosen = new Set([...form.querySelectorAll('input[type="radio"]:checked')].map((r) => r.value));
      form.querySelectorAll(".sub-choices").forEach((box) => { box.hidden = !chosen.has(box.dataset.for); });
    }

    const saved = store.load(key);
    if (saved && !form.querySelector(".field-error:not([hidden])")) {
      apply(saved);
      document.getElementById("request-restored").hidden = false;
      form.dispatchEvent(new Event("change", { bubbles: true })); // the map redraws its picks
    }
    showChoices();
    form.addEventListener("change", (e) => {
      const t = e.target;
      // ticking a village or a point (also from the map) means "these places"
      if (t.checked && (t.name === "zones" || t.name === "nodes")) {
        const radio = form.querySelector(`input[name="where"][value="${t.name}"]`);
        if (radio) radio.checked = true;
      }
      if (t.name === "at" && t.value) form.querySelector('input[name="when"][value="at"]').checked = true;
      showChoices();
      store.save(key, snapshot());
    });
    form.addEventListener("input", () => store.save(key, snapshot()));

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      say(message, "");
      busy(button, true);
      // the pressed button says whether to send for approval or only save the changes
      const body = new FormData(form, event.submitter);
      const answer = await sendWithRetry(() => Loa.post(form.action, body).catch(
        () => ({ ok: false, status: 0, data: {} })), state);
      busy(button, false);
      login.hidden = answer.status !== 401;
      if (answer.ok) {
        store.drop(key);
        window.location.assign(answer.data.url);
        return;
      }
      if (answer.status === 0) { say(message, message.dataset.network); return; }
      if (!showErrors(form, answer.data.errors) || answer.status === 401) say(message, answer.data.detail);
    });
  }

  const compose = document.getElementById("compose");
  if (compose) composeForm(compose);
  const request = document.getElementById("request");
  if (request) requestForm(request);
})();
