/* Progressive enhancement for pages that wait on something else (a phone's answer, a pairing):
   poll a JSON status URL and, once the status moves on, submit the page's own form, as the
   "Check again" / "Continue" button would. Also counts down a "Send it again" button.
   Every page works without this script. */
(function () {
  "use strict";
  var POLL_MS = 2000;
  var GIVE_UP_MS = 15 * 60 * 1000;

  function watch(el) {
    var url = el.getAttribute("data-poll-url");
    var waiting = el.getAttribute("data-poll-while");
    var form = document.getElementById(el.getAttribute("data-poll-form"));
    var started = Date.now();
    function tick() {
      if (Date.now() - started > GIVE_UP_MS) { return; }
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : { status: waiting }; })
        .then(function (data) {
          if (data.status !== waiting && form) { form.submit(); } else { setTimeout(tick, POLL_MS); }
        })
        .catch(function () { setTimeout(tick, POLL_MS); });
    }
    setTimeout(tick, POLL_MS);
  }

  function countDown(button) {
    var left = parseInt(button.getAttribute("data-enable-after"), 10) || 0;
    if (left <= 0) { return; }
    var label = button.textContent;
    button.disabled = true;
    function step() {
      if (left <= 0) { button.disabled = false; button.textContent = label; return; }
      button.textContent = label + " (" + left + " s)";
      left -= 1;
      setTimeout(step, 1000);
    }
    step();
  }

  document.querySelectorAll("[data-poll-url]").forEach(watch);
  document.querySelectorAll("[data-enable-after]").forEach(countDown);
})();
