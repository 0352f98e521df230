/* Firebreak's only script: progressive enhancement over server-rendered pages.
   No inline script anywhere (CSP script-src 'self'). */
(function () {
  "use strict";

  function enhance(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    if (typeof TomSelect === "undefined") { return; }
    // refreshThrottle 0: filter on every keystroke. tom-select's default (300 ms) lets a fast
    // "type, Enter" pick from the unfiltered list, and its late refresh steals the focus back
    // from the next field. Remote searches keep their own loadThrottle.
    root.querySelectorAll("select[data-searchable]:not(.tomselected)").forEach(function (select) {
      new TomSelect(select, { maxOptions: 500, refreshThrottle: 0 });
    });
    root.querySelectorAll("select[data-autocomplete]:not(.tomselected)").forEach(function (select) {
      new TomSelect(select, {
        valueField: "value", labelField: "text", searchField: ["text", "email"],
        loadThrottle: 200, refreshThrottle: 0, maxOptions: 20,
        load: function (query, callback) {
          fetch(select.dataset.autocomplete + "?q=" + encodeURIComponent(query), { credentials: "same-origin" })
            .then(function (response) { return response.json(); })
            .then(function (data) { callback(data.results); })
            .catch(function () { callback(); });
        },
        render: { option: function (item, escape) {
          return "<div>" + escape(item.text) + (item.email ? " <small class='text-body-secondary'>" + escape(item.email) + "</small>" : "") + "</div>";
        } }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (event) { enhance(event.detail.target); });
})();
