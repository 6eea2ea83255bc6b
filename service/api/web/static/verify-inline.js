// One-click verification on a credential page: the "Verify" form (GET /verify?url=...) works without
// script; with it, the same result is fetched as an HTML fragment and shown in place.
(function () {
  "use strict";
  var form = document.getElementById("verify-form");
  var target = document.getElementById("verify-result");
  if (!form || !target || !window.fetch) { return; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button");
    var url = form.getAttribute("data-fragment") + "?" + new URLSearchParams(new FormData(form)).toString();
    button.disabled = true;
    target.textContent = "Checking…";
    fetch(url, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        target.innerHTML = html;  // server-rendered, autoescaped fragment from the service itself
        target.focus();
      })
      .catch(function () {
        window.location.href = form.action + "?" + new URLSearchParams(new FormData(form)).toString();
      })
      .finally(function () { button.disabled = false; });
  });
})();
