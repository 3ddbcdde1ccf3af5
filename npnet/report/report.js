/* npnet report: the method selector, sortable tables and the feature-map dialog. Plain JavaScript, */
/* nothing fetched: every picture is already in the page. */
(function () {
  "use strict";

  /* -- the method selectors: show each card's heatmaps and colour-scale ends for one method ---------- */
  var selects = document.querySelectorAll("select.method-select");
  function showMethod(method) {
    var marked = document.querySelectorAll("[data-method]");
    for (var i = 0; i < marked.length; i++) {
      marked[i].hidden = marked[i].getAttribute("data-method") !== method;
    }
    Array.prototype.forEach.call(selects, function (select) {
      select.value = method;
      var description = select.parentNode.querySelector(".description");
      description.textContent = select.options[select.selectedIndex].getAttribute("data-description") || "";
    });
    document.body.setAttribute("data-shown-method", method);
  }
  Array.prototype.forEach.call(selects, function (select) {
    select.addEventListener("change", function () { showMethod(select.value); });
  });
  if (selects.length) { showMethod(selects[0].value); }

  /* -- tables sorted by clicking a column's heading -------------------------------------------------- */
  function sortKey(cell) {
    var value = cell.getAttribute("data-value");
    if (value === null) { return cell.textContent.trim().toLowerCase(); }
    var number = parseFloat(value);
    return isNaN(number) ? -Infinity : number;
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (head, column) {
      var button = head.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var ascending = head.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        head.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = sortKey(a.cells[column]), y = sortKey(b.cells[column]);
          return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });

  /* -- clicking an image opens its feature maps ------------------------------------------------------- */
  var dialog = document.getElementById("features-dialog");
  if (dialog) {
    var buttons = document.querySelectorAll(".card button.image-button");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        var card = button.closest(".card");
        dialog.querySelector(".dialog-title").textContent = "Feature maps of " + card.getAttribute("data-title");
        dialog.querySelector(".dialog-body").innerHTML = card.querySelector(".features").innerHTML;
        dialog.showModal();
      });
    });
    dialog.querySelector("button.close").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("click", function (event) { if (event.target === dialog) { dialog.close(); } });
  }
})();
