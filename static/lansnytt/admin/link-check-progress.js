// The external link check on the preview page (templates/admin/newsletter/issue/link_check.html):
// poll while a worker checks the links; reload when the status changes to show the result.
(function () {
  var box = document.getElementById("externa-lankar");
  if (!box) { return; }
  function refresh() {
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (response) {
      return response.json();
    }).then(function (progress) {
      if (progress.status !== box.dataset.status) window.location.reload();
    }).catch(function () {}).then(function () { window.setTimeout(refresh, 2000); });
  }
  window.setTimeout(refresh, 2000);
})();
