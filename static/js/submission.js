// The submission form and receipt: progressive enhancement only; every page works without it.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  var used = document.getElementById("ai_used");
  var details = document.querySelector("[data-ai-details]");
  if (used && details) {
    var sync = function () {
      details.hidden = !used.checked;
      used.setAttribute("aria-expanded", used.checked ? "true" : "false");
    };
    used.addEventListener("change", sync);
    sync();
  }

  var warning = document.querySelector("[data-policy-warning]");
  var risky = document.querySelectorAll("input[data-not-allowed]");
  if (warning && risky.length) {
    var check = function () {
      var any = false;
      risky.forEach(function (box) { if (box.checked) { any = true; } });
      warning.hidden = !any;
    };
    risky.forEach(function (box) { box.addEventListener("change", check); });
    check();
  }

  var form = document.getElementById("submission-form");
  if (form) {
    form.addEventListener("submit", function () {
      var button = document.getElementById("submit-button");
      // One click, one submission: the server also de-duplicates by the form's key.
      if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
    });
  }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = button.getAttribute("data-copied");
      });
    });
  });
}());
