/* "Ajouter une ligne" on the invoice entry form: copies the last line row, empty, with the
   next index. Without script the form keeps its fixed rows (empty rows are ignored). */
(function () {
  "use strict";
  var button = document.getElementById("add-line");
  var body = document.querySelector("#lines tbody");
  if (!button || !body) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    var rows = body.querySelectorAll("tr.line-row");
    var last = rows[rows.length - 1];
    var index = rows.length;
    var row = last.cloneNode(true);
    row.querySelectorAll(".field-error").forEach(function (node) { node.remove(); });
    row.querySelectorAll("[id], [for], [name]").forEach(function (node) {
      ["id", "for", "name"].forEach(function (attribute) {
        var value = node.getAttribute(attribute);
        if (value) { node.setAttribute(attribute, value.replace(/^lines-\d+-/, "lines-" + index + "-")); }
      });
      if (node.tagName === "LABEL") {
        node.textContent = node.textContent.replace(/\d+$/, String(index + 1));
      }
      node.removeAttribute("aria-invalid");
      node.removeAttribute("aria-describedby");
      if (node.tagName === "INPUT") { node.value = ""; }
      if (node.tagName === "SELECT") { node.selectedIndex = 0; }  // unit C62, VAT 20 %
    });
    body.appendChild(row);
    row.querySelector("input").focus();
  });
})();
