// LTI Dynamic Registration: tell the LMS that Adal's registration page is done, so that it closes
// its dialog (Moodle) or iframe (Canvas). The LMS opened this page as a popup (window.opener) or
// in a frame (window.parent). No inline script: the CSP forbids it.
(function () {
  "use strict";
  function notifyLms() {
    var target = window.opener || (window.parent !== window ? window.parent : null);
    if (target) {
      target.postMessage({ subject: "org.imsglobal.lti.close" }, "*");
    }
  }
  function wire() {
    var button = document.getElementById("lti-close");
    if (button) {
      button.addEventListener("click", notifyLms);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
