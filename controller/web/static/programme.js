// The programme: on a phone the day tabs scroll sideways; bring the chosen one into view.
"use strict";
(function () {
  const current = document.querySelector('.day-tabs a[aria-current="page"]');
  if (current) current.scrollIntoView({ block: "nearest", inline: "center" });
})();
