// "Phát trực tiếp": choose where, confirm, then the microphone goes over a WebSocket as 40 ms
// PCM frames (pcm_worklet.js); the points on air come from the nodes' states (/live events).
"use strict";
(function () {
  const root = document.getElementById("onair");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const words = $("onair-words").dataset;
  const all = root.querySelector("input[data-all]");
  const zones = [...root.querySelectorAll("input[data-zone]")];
  const nodes = [...root.querySelectorAll("input[data-node]")];
  let socket = null;
  let context = null;
  let stream = null;
  let events = null;
  let timer = null;
  let playId = null;
  let startedAt = 0;
  let finished = false;

  all.addEventListener("change", () => {
    for (const box of [...zones, ...nodes]) box.disabled = all.checked;
  });

  function where() {
    const picked = (boxes) => boxes.filter((b) => b.checked && !b.disabled).map((b) => b.value);
    return { all: all.checked, zones: picked(zones), nodes: picked(nodes) };
  }

  function say(id, text) {
    const el = $(id);
    el.textContent = text || "";
    el.hidden = !text;
  }

  function toForm() {
    $("onair-go").hidden = false;
    $("onair-confirm").hidden = true;
  }

  $("onair-go").addEventListener("click", () => {
    const w = where();
    if (!w.all && !w.zones.length && !w.nodes.length) {
      say("onair-where-error", words.choose);
      $("onair-where").setAttribute("aria-invalid", "true");
      return;
    }
    say("onair-where-error", "");
    $("onair-where").removeAttribute("aria-invalid");
    $("onair-go").hidden = true;
    $("onair-confirm").hidden = false;
    $("onair-confirm-go").focus();
  });
  $("onair-cancel").addEventListener("click", toForm);
  $("onair-confirm-go").addEventListener("click", () => start(where()));
  $("onair-stop").addEventListener("click", () => {
    $("onair-stop").disabled = true;
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
    else finish(null);
  });

  function level(peak) {
    // peak 0..1 shown on a -60..0 dBFS scale, as a broadcaster's meter reads
    const db = peak > 0 ? 20 * Math.log10(peak) : -60;
    const pct = Math.round(Math.max(0, Math.min(1, (db + 60) / 60)) * 100);
    const meter = $("onair-meter");
    meter.setAttribute("aria-valuenow", String(pct));
    meter.firstElementChild.style.width = pct + "%";
    meter.classList.toggle("hot", db > -3);
  }

  function tick() {
    const s = Math.floor((Date.now() - startedAt) / 1000);
    $("onair-elapsed").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  function watchPoints() {
    events = Loa.live("/live", {
      nodes: (rows) => {
        const count = rows.filter((n) => n.playing === playId).length;
        $("onair-count").textContent = String(count);
        // "speak now" only once a loudspeaker sounds: words said before that reach no one
        $("onair-state").textContent = count > 0 ? words.listening : words.waiting;
        $("onair-live").classList.toggle("on", count > 0);
      },
    });
  }

  async function openMicrophone() {
    // made within the tap itself: a phone lets audio start only from a person's gesture
    context = new AudioContext({ sampleRate: 48000, latencyHint: "interactive" });
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    await context.audioWorklet.addModule(root.dataset.worklet);
    await context.resume();
    const tap = new AudioWorkletNode(context, "pcm-sender", {
      channelCount: 1,
      channelCountMode: "explicit",
      channelInterpretation: "speakers",
    });
    const mute = context.createGain(); // the graph must reach the output to run; nothing is heard
    mute.gain.value = 0;
    context.createMediaStreamSource(stream).connect(tap).connect(mute).connect(context.destination);
    return tap;
  }

  async function start(target) {
    say("onair-error", "");
    $("onair-confirm-go").disabled = true;
    let tap;
    try {
      tap = await openMicrophone();
    } catch (e) {
      say("onair-error", words.mic);
      if (stream) stream.getTracks().forEach((track) => track.stop());
      if (context) context.close();
      $("onair-confirm-go").disabled = false;
      toForm();
      return;
    }
    $("onair-form").hidden = true;
    $("onair-live").hidden = false;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}${root.dataset.socket}`);
    socket.binaryType = "arraybuffer";
    let open = false;
    tap.port.onmessage = (event) => {
      level(event.data.peak);
      if (open && socket.readyState === WebSocket.OPEN) socket.send(event.data.pcm);
    };
    const title = $("onair-title-input").value.trim();
    socket.onopen = () => socket.send(JSON.stringify({ csrf: Loa.csrf(), title, ...target }));
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "open") {
        open = true;
        playId = message.play_id;
        root.dataset.playId = playId;
        $("onair-targets").textContent = String(message.targets);
        $("onair-state").textContent = words.waiting;
        startedAt = Date.now();
        timer = setInterval(tick, 500);
        keepAwake();
        watchPoints();
      } else if (message.type === "error") {
        say("onair-error", message.message);
      } else if (message.type === "ended") {
        finish(message);
      }
    };
    socket.onclose = () => {
      if (finished) return;
      // refused at the handshake (a login that expired) or cut off mid-session: say which
      if (!$("onair-error").textContent) say("onair-error", open ? words.lost : words.refused);
      finish(null);
    };
  }

  // a phone whose screen goes dark may stop its microphone: keep it lit while on air
  let wakeLock = null;
  async function keepAwake() {
    try {
      if (navigator.wakeLock) wakeLock = await navigator.wakeLock.request("screen");
    } catch (e) {
      wakeLock = null; // refused (battery saver): the session goes on
    }
  }

  // leaving the page ends the session: ask first
  window.addEventListener("beforeunload", (event) => {
    if (playId && !finished) event.preventDefault();
  });

  function finish(message) {
    if (finished) return;
    finished = true;
    if (wakeLock) wakeLock.release().catch(() => {});
    clearInterval(timer);
    if (events) events.close();
    if (stream) stream.getTracks().forEach((track) => track.stop());
    if (context) context.close();
    $("onair-live").hidden = true;
    $("onair-done").hidden = false;
    if (message) {
      const seconds = Math.round(message.seconds || 0);
      say("onair-done-text", message.bulletin_id ? words.ended.replace("{seconds}", seconds) : words.nothing);
      if (message.bulletin_id) {
        $("onair-report").href = `/bulletins/${message.bulletin_id}/report`;
        $("onair-report").hidden = false;
      }
    }
    if (!message && !$("onair-error").textContent) say("onair-done-text", words.nothing);
  }
})();
