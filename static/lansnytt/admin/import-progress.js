// The subscriber import page (subscribers/templates/admin/subscribers/subscriber/import.html):
// poll while the import runs; reload for the report when it has finished.
(function () {
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  function refresh() {
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (response) {
      return response.json();
    }).then(function (progress) {
      if (progress.finished) { window.location.reload(); return; }
      box.querySelectorAll("[data-field]").forEach(function (element) {
        element.textContent = progress[element.dataset.field];
      });
      box.querySelector("progress").value = progress.percent;
      window.setTimeout(refresh, 2000);
    }).catch(function () { window.setTimeout(refresh, 2000); });
  }
  window.setTimeout(refresh, 1000);
})();
