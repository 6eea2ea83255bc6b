// The staff console's small enhancements; every page works without them.
// 1. "Copy link" buttons: [data-copy=<input id>] copy the input's value.
// 2. Cohort run progress: #run[data-progress-url] polls its JSON every 2 seconds until the run finishes.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var said = document.getElementById(button.getAttribute("data-copy") + "-copied");
    if (!field || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        if (said) { said.textContent = "Link copied."; }
      }, function () {
        field.select();
        if (said) { said.textContent = "Select the link and copy it."; }
      });
    });
  });

  var run = document.getElementById("run");
  if (!run || run.getAttribute("data-finished") === "yes") { return; }
  var url = run.getAttribute("data-progress-url");
  var bar = document.getElementById("run-progress");
  function set(id, text) { var el = document.getElementById(id); if (el) { el.textContent = String(text); } }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error(String(response.status)); } return response.json(); })
      .then(function (data) {
        bar.max = data.total || 1;
        bar.value = data.done;
        bar.textContent = data.percent + "%";
        set("run-state", data.state_label.charAt(0).toUpperCase() + data.state_label.slice(1));
        set("run-done", data.done);
        set("run-total", data.total);
        set("run-percent", data.percent);
        set("run-generated", data.generated);
        run.setAttribute("data-state", data.state);
        if (data.finished) {
          run.setAttribute("data-finished", "yes");
          var hint = document.getElementById("run-reload");
          if (hint) { hint.hidden = true; }
        } else {
          window.setTimeout(poll, 2000);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
