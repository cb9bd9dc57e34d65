// Web Push on this browser: subscribe with the controller's VAPID key, tell the controller,
// or stop. Where the browser cannot (no service worker, no PushManager, refused), say so.
"use strict";
(function () {
  const box = document.getElementById("push");
  if (!box) return;
  const on = document.getElementById("push-on");
  const off = document.getElementById("push-off");
  const state = document.getElementById("push-state");
  const say = (key) => { state.textContent = state.dataset[key]; };

  function keyBytes(text) {
    const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  async function send(url, subscription) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      body: JSON.stringify(subscription.toJSON()),
      headers: {
        "Content-Type": "application/json", "X-CSRF-Token": Loa.csrf(), "X-Requested-With": "fetch",
      },
    });
    return response.ok;
  }

  async function current() {
    const registration = await navigator.serviceWorker.register("/static/sw.js");
    await navigator.serviceWorker.ready;
    return { registration, subscription: await registration.pushManager.getSubscription() };
  }

  function show(subscribed) {
    on.hidden = subscribed;
    off.hidden = !subscribed;
    say(subscribed ? "on" : "off");
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window)) { say("unsupported"); return; }
  current().then(({ subscription }) => show(Boolean(subscription))).catch(() => say("unsupported"));

  on.addEventListener("click", async () => {
    on.disabled = true;
    try {
      if ((await Notification.requestPermission()) !== "granted") { say("denied"); return; }
      const { registration } = await current();
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.key),
      });
      if (await send("/notifications/push", subscription)) show(true);
      else say("failed");
    } catch (e) {
      say("failed");
    } finally {
      on.disabled = false;
    }
  });

  off.addEventListener("click", async () => {
    const { subscription } = await current();
    if (subscription) {
      await send("/notifications/push/remove", subscription);
      await subscription.unsubscribe();
    }
    show(false);
  });
})();
