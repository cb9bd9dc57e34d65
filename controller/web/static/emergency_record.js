// Recording an alert on the emergency page: the recording becomes the form's file, so the
// same two-step send (and its server-side checks) carries it. Texts come from the page.
"use strict";
(function () {
  const box = document.querySelector("[data-recorder]");
  const file = document.getElementById("file");
  if (!box || !file || !window.LoaRecorder || !LoaRecorder.supported() || !window.DataTransfer) return;
  box.hidden = false;
  const button = document.getElementById("alarm-toggle");
  const timer = document.getElementById("alarm-timer");
  const meter = document.getElementById("alarm-level");
  const playback = document.getElementById("alarm-playback");
  const attached = document.getElementById("alarm-attached");
  let running = null;

  function attach(blob) {
    const type = blob.type || "audio/webm";
    const name = `canh-bao-ghi-am.${LoaRecorder.extension(type)}`;
    const files = new DataTransfer();
    files.items.add(new File([blob], name, { type }));
    file.files = files.files;
    file.dispatchEvent(new Event("change", { bubbles: true }));
    playback.src = URL.createObjectURL(blob);
    playback.hidden = false;
    attached.hidden = false;
  }

  button.addEventListener("click", async () => {
    if (running) {
      const recording = running;
      running = null;
      button.textContent = button.dataset.start;
      await recording.stop();
      return;
    }
    try {
      running = await LoaRecorder.start({
        onTick(ms, level) { timer.value = LoaRecorder.clock(ms); meter.value = level; },
        onStop: attach,
      });
      attached.hidden = true;
      button.textContent = button.dataset.stop;
    } catch (e) {
      running = null;
      alert(button.dataset.denied);
    }
  });
})();
