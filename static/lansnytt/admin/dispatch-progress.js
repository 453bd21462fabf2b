// The dispatch page's live counters: poll while the dispatch can still change, and reload
// when its status does, so the right buttons show. A static file, not an inline script: the
// Content-Security-Policy runs scripts from our origin only.
//
// The counters, the rate and the time left are rewritten on every poll; the status sentence
// (role="status", a polite live region) only when another tenth of the recipients is done,
// so a screen reader hears the progress without being talked over every two seconds.
(function () {
  "use strict";
  var box = document.getElementById("dispatch-progress");
  if (!box) return;
  var status = box.dataset.status;
  if (["done", "cancelled", "failed"].indexOf(status) !== -1) return;
  var announcement = box.querySelector('[data-field="announcement"]');
  var announcedTenth = Math.floor(box.querySelector("progress").value / 10);
  function refresh() {
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (response) {
      return response.json();
    }).then(function (progress) {
      box.querySelectorAll("[data-field]").forEach(function (element) {
        if (element === announcement) return;
        element.textContent = progress[element.dataset.field];
      });
      box.querySelector("progress").value = progress.percent;
      var tenth = Math.floor(progress.percent / 10);
      if (announcement && tenth !== announcedTenth) {
        announcement.textContent = progress.announcement;
        announcedTenth = tenth;
      }
      if (progress.status !== status) window.location.reload();
    }).catch(function () {}).then(function () { window.setTimeout(refresh, 2000); });
  }
  window.setTimeout(refresh, 2000);
})();
