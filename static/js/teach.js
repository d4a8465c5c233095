// The teacher's pages: after a refused form, keyboard focus goes to the list of problems, so a
// screen reader reads it and the keyboard starts there. Without JavaScript the list is still
// announced (role="alert") and each item links to its field. No inline script: the CSP forbids it.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
}());
