/* Live refresh of an invoice's detail page: while a move may still leave the invoice's status,
   asks /factures/{id}/etat every few seconds; when the invoice has moved on, shows its new
   status in place and a notice (role="status") offering to reload the page for the rest
   (history, actions). Stops once the status is final, on a refusal (session expired, invoice
   gone), or when the page is hidden, and resumes when it is shown again. Without script the
   page works the same: reloading it shows the new status. */
(function () {
  "use strict";
  var box = document.getElementById("invoice-live");
  var shown = document.getElementById("invoice-status");
  var words = document.getElementById("invoice-live-text");
  if (!box || !shown || !words || typeof window.fetch !== "function") { return; }

  var EVERY_MS = 4000;
  var url = box.getAttribute("data-url");
  var status = box.getAttribute("data-status");
  var updated = box.getAttribute("data-updated");
  var timer = null;
  var stopped = false;

  function stop() { stopped = true; if (timer) { window.clearTimeout(timer); timer = null; } }

  function later() {
    if (!stopped && !document.hidden) { timer = window.setTimeout(ask, EVERY_MS); }
  }

  function moved(state) {
    shown.textContent = state.label;
    shown.className = "status status-" + state.status.toLowerCase();
    words.textContent = state.status === status
      ? "La facture a été mise à jour."
      : "La facture est passée au statut « " + state.label + " ».";
    box.hidden = false;
    status = state.status;
  }

  function ask() {
    timer = null;
    window.fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { stop(); return null; }
        return response.json();
      })
      .then(function (state) {
        if (!state) { return; }
        if (state.status !== status || (state.updated && updated && state.updated !== updated)) {
          updated = state.updated;
          moved(state);
        }
        if (state.final) { stop(); } else { later(); }
      })
      .catch(function () { later(); });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !stopped && !timer) { ask(); }
  });
  later();
}());
