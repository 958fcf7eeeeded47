/* Every page: a table that scrolls inside its own box on a narrow screen (portal.css's
   fallback) becomes focusable, so that a keyboard can scroll it too; a table that fits, or a
   wider screen, leaves it as it was (checked again on resize and when the page's content
   changes). Without script the tables still scroll with a pointer. */
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll("main table").forEach(function (table) {
      if (table.closest(".table-scroll")) { return; }
      var scrolls = table.scrollWidth > table.clientWidth + 1;
      if (scrolls && !table.hasAttribute("tabindex")) {
        table.setAttribute("tabindex", "0");
        table.dataset.scrollFocus = "1";
      } else if (!scrolls && table.dataset.scrollFocus) {
        table.removeAttribute("tabindex");
        delete table.dataset.scrollFocus;
      }
    });
  }
  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) { window.clearTimeout(pending); }
    pending = window.setTimeout(mark, 150);
  });
  // Other scripts fill tables (live totals, added lines): check again once they did.
  var main = document.querySelector("main");
  if (main && window.MutationObserver) {
    new MutationObserver(mark).observe(main, { childList: true, subtree: true, characterData: true });
  }
  mark();
})();
