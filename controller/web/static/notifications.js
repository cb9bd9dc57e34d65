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

  // The worker's scope is /static/, not this page: serviceWorker.ready would never resolve
  // here, so wait for this registration's own worker to be active.
  function activated(registration) {
    if (registration.active) return Promise.resolve(registration);
    const worker = registration.installing || registration.waiting;
    return new Promise((ok, fail) => worker.addEventListener("statechange", () => {
      if (worker.state === "activated") ok(registration);
      if (worker.state === "redundant") fail(new Error("the service worker did not start"));
    }));
  }

  // A browser without a reachable push service may never answer: give up and say so.
  function inTime(promise) {
    const late = new Promise((_, fail) => setTimeout(() => fail(new Error("no answer")), 15000));
    return Promise.race([promise, late]);
  }

  async function current() {
    const registration = await activated(await navigator.serviceWorker.register("/static/sw.js"));
    return { registration, subscription: await registration.pushManager.getSubscription() };
  }

  function show(subscribed) {
    on.hidden = subscribed;
    off.hidden = !subscribed;
    say(subscribed ? "on" : "off");
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window)) { say("unsupported"); return; }
  if (Notification.permission === "denied") { say("denied"); return; }
  // Off until the browser says it holds a subscription (its answer can take a while).
  show(false);
  current().then(({ subscription }) => show(Boolean(subscription))).catch(() => null);

  on.addEventListener("click", async () => {
    on.disabled = true;
    try {
      if ((await Notification.requestPermission()) !== "granted") { say("denied"); return; }
      const { registration } = await inTime(current());
      const subscription = await inTime(registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.key),
      }));
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
