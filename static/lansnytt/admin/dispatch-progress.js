// The dispatch page's live counters: poll while the dispatch can still change, and reload
// when its status does, so the right buttons show. A static file, not an inline script: the
// Content-Security-Policy runs scripts from our origin only.
(function () {
  "use strict";
  var box = document.getElementById("dispatch-progress");
  if (!box) return;
  var status = box.dataset.status;
  if (["done", "cancelled", "failed"].indexOf(status) !== -1) return;
  function refresh() {
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (response) {
      return response.json();
    }).then(function (progress) {
      box.querySelectorAll("[data-field]").forEach(function (element) {
        element.textContent = progress[element.dataset.field];
      });
      box.querySelector("progress").value = progress.percent;
      if (progress.status !== status) window.location.reload();
    }).catch(function () {}).then(function () { window.setTimeout(refresh, 2000); });
  }
  window.setTimeout(refresh, 2000);
})();
