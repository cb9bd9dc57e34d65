// The service worker for Web Push: shows what the controller pushes and opens its page when
// tapped. Served from /static, so its scope is /static/: it handles pushes, never page loads.
"use strict";
self.addEventListener("push", (event) => {
  let message = {};
  try { message = event.data ? event.data.json() : {}; } catch (e) { message = {}; }
  event.waitUntil(self.registration.showNotification(message.title || "Loa Làng", {
    body: message.body || "",
    tag: message.tag,
    data: { url: message.url || "/notifications" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data.url, self.location.origin).href;
  event.waitUntil(self.clients.openWindow(url));
});
