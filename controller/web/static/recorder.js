// Recording in the browser: MediaRecorder for the audio, an AnalyserNode for the level meter,
// a running mm:ss timer. Used by compose.js and emergency_record.js; no UI text here (the page
// holds it, in the data-* attributes of templates/macros/recorder.html).
"use strict";
window.LoaRecorder = (function () {
  function supported() {
    return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder);
  }

  function clock(ms) {
    const s = Math.floor(ms / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  }

  // Opus in WebM where available (Chrome, Firefox), else whatever the browser offers (Safari: mp4).
  function mimeType() {
    const wanted = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"];
    return wanted.find((t) => MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(t)) || "";
  }

  // onTick(elapsedMs, level 0..1) while recording; onStop(blob) once the recording is complete.
  async function start({ onTick, onStop }) {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: true },
    });
    const type = mimeType();
    const recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    const chunks = [];
    recorder.addEventListener("dataavailable", (e) => { if (e.data && e.data.size) chunks.push(e.data); });

    const AudioCtx = window.AudioContext || window.webkitAudioContext;
    const context = new AudioCtx();
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const began = performance.now();
    let frame = 0;

    function tick() {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const v of samples) sum += v * v;
      const rms = Math.sqrt(sum / samples.length);
      // -60 dBFS (silence) .. 0 dBFS (full scale) onto 0..1: speech sits around the middle
      const level = Math.max(0, Math.min(1, (20 * Math.log10(rms + 1e-9) + 60) / 60));
      onTick(performance.now() - began, level);
      frame = requestAnimationFrame(tick);
    }

    const stopped = new Promise((resolve) => {
      recorder.addEventListener("stop", () => {
        cancelAnimationFrame(frame);
        stream.getTracks().forEach((t) => t.stop());
        context.close();
        const blob = new Blob(chunks, { type: recorder.mimeType || type || "audio/webm" });
        onStop(blob);
        resolve(blob);
      });
    });
    recorder.start(250);
    tick();
    return {
      stop() { if (recorder.state !== "inactive") recorder.stop(); return stopped; },
    };
  }

  function extension(type) {
    if (type.includes("ogg")) return "ogg";
    if (type.includes("mp4")) return "m4a";
    return "webm";
  }

  // Wires the controls of templates/macros/recorder.html (ids `${id}-toggle|timer|level|playback`):
  // the button starts and stops, the timer and meter follow, the recording can be heard back.
  // Hooks: before() on every press, onStart() once recording, onStop(blob) with the recording,
  // onDenied(text) when the microphone cannot be used.
  function controls(id, { before = () => {}, onStart = () => {}, onStop, onDenied }) {
    const button = document.getElementById(`${id}-toggle`);
    const timer = document.getElementById(`${id}-timer`);
    const meter = document.getElementById(`${id}-level`);
    const playback = document.getElementById(`${id}-playback`);
    let session = null;
    button.addEventListener("click", async () => {
      before();
      if (session) {
        button.disabled = true;
        await session.stop();
        session = null;
        button.disabled = false;
        button.textContent = button.dataset.start;
        button.classList.remove("recording");
        return;
      }
      try {
        session = await start({
          onTick(ms, level) { timer.textContent = clock(ms); meter.value = level; },
          onStop(blob) {
            meter.value = 0;
            if (playback.src) URL.revokeObjectURL(playback.src);
            playback.src = URL.createObjectURL(blob);
            playback.hidden = false;
            onStop(blob);
          },
        });
      } catch (e) {
        onDenied(button.dataset.denied);
        return;
      }
      playback.hidden = true;
      button.textContent = button.dataset.stop;
      button.classList.add("recording");
      onStart();
    });
  }

  return { supported, start, clock, extension, controls };
})();
