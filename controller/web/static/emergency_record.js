// Recording an alert on the emergency page: the recording becomes the form's file, so the
// same two-step send (and its server-side checks) carries it. Texts come from the page.
"use strict";
(function () {
  const box = document.querySelector("[data-recorder]");
  const file = document.getElementById("file");
  if (!box || !file || !window.LoaRecorder || !LoaRecorder.supported() || !window.DataTransfer) return;
  box.hidden = false;
  const attached = document.getElementById("alarm-attached");

  LoaRecorder.controls("alarm", {
    onStart: () => { attached.hidden = true; },
    onStop(blob) {
      const type = blob.type || "audio/webm";
      const files = new DataTransfer();
      files.items.add(new File([blob], `canh-bao-ghi-am.${LoaRecorder.extension(type)}`, { type }));
      file.files = files.files;
      file.dispatchEvent(new Event("change", { bubbles: true }));
      attached.hidden = false;
    },
    onDenied: (text) => alert(text),
  });
})();
