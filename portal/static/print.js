// The set-up sheet's Print button: shown only when JavaScript can print; without it the browser's
// own Print command does the same.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
