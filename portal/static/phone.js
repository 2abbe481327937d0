/* The Portal Authenticator's pages, enhanced: the Requests tab asks the phone API for its requests
   and reloads when they change; the Codes tab counts down and reloads for the next code.
   Every page works without this script (Refresh links). */
(function () {
  "use strict";
  var POLL_MS = 2000;

  var list = document.querySelector("[data-poll-url][data-ids]");
  if (list) {
    var url = list.getAttribute("data-poll-url");
    var shown = list.getAttribute("data-ids");
    var poll = function () {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          var ids = data ? data.challenges.map(function (c) { return c.id; }).join(",") : shown;
          if (ids !== shown) { window.location.reload(); } else { setTimeout(poll, POLL_MS); }
        })
        .catch(function () { setTimeout(poll, POLL_MS); });
    };
    setTimeout(poll, POLL_MS);
  }

  var counters = document.querySelectorAll("[data-countdown]");
  if (counters.length) {
    var left = parseInt(counters[0].getAttribute("data-countdown"), 10) || 30;
    var tick = function () {
      left -= 1;
      if (left <= 0) { window.location.reload(); return; }
      counters.forEach(function (el) { el.textContent = String(left); });
      setTimeout(tick, 1000);
    };
    setTimeout(tick, 1000);
  }
})();
