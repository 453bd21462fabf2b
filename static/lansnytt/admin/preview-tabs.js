// The preview's HTML / plain-text tabs. Without JavaScript both panels stay reachable (the
// text is repeated in a <noscript>). A static file: the Content-Security-Policy runs no
// inline script.
(function () {
  "use strict";
  var tabs = document.querySelectorAll("[role=tab]");
  tabs.forEach(function (tab) {
    tab.addEventListener("click", function () {
      tabs.forEach(function (other) {
        var selected = other === tab;
        other.setAttribute("aria-selected", selected ? "true" : "false");
        document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
      });
    });
  });
})();
