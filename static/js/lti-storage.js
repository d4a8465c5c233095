// LTI Platform Storage (1EdTech "LTI Client Side postMessages"): when the browser blocks cookies
// in the LMS's frame, Adal keeps a one-time secret with the platform instead. "put" stores it at
// login, then continues to the platform; "get" reads it back at launch and posts it to Adal.
// Capabilities are asked first; any silence or refusal falls back (to the cookie, or to opening
// Adal in a new window). No inline script: the page's CSP forbids it.
(function () {
  "use strict";
  var box = document.getElementById("lti-storage");
  if (!box) { return; }
  var data = box.dataset;
  var parentWindow = window.parent !== window ? window.parent : window.opener;
  var target = null;
  if (parentWindow) {
    try { target = data.target === "_parent" ? parentWindow : (parentWindow.frames[data.target] || parentWindow); }
    catch (e) { target = parentWindow; }
  }

  function ask(message, targetOrigin, done) {
    if (!target) { done(null); return; }
    var id = "adal-" + Math.random().toString(36).slice(2);
    message.message_id = id;
    var timer = null;
    function answer(event) {
      var reply = event.data;
      if (!reply || reply.message_id !== id || reply.subject !== message.subject + ".response") { return; }
      if (targetOrigin !== "*" && event.origin !== targetOrigin) { return; }
      window.removeEventListener("message", answer);
      clearTimeout(timer);
      done(reply.error ? null : reply);
    }
    window.addEventListener("message", answer);
    timer = setTimeout(function () { window.removeEventListener("message", answer); done(null); }, 2500);
    target.postMessage(message, targetOrigin);
  }

  function offers(capabilities, subject) {
    var list = (capabilities && capabilities.supported_messages) || [];
    for (var i = 0; i < list.length; i += 1) { if (list[i].subject === subject) { return true; } }
    return false;
  }

  function newWindow() {
    var wait = document.getElementById("lti-storage-wait");
    if (wait) { wait.hidden = true; }
    var offer = document.getElementById("lti-new-window");
    if (offer) { offer.hidden = false; }
  }

  if (data.mode === "put") {
    var go = function () { window.location.href = data.next; };
    ask({ subject: "lti.capabilities" }, "*", function (capabilities) {
      if (!offers(capabilities, "lti.put_data")) { go(); return; }
      ask({ subject: "lti.put_data", key: data.key, value: data.value }, data.origin, function () { go(); });
    });
  } else if (data.mode === "get") {
    ask({ subject: "lti.capabilities" }, "*", function (capabilities) {
      if (!offers(capabilities, "lti.get_data")) { newWindow(); return; }
      ask({ subject: "lti.get_data", key: data.key }, data.origin, function (reply) {
        if (!reply || !reply.value) { newWindow(); return; }
        var form = document.getElementById("lti-storage-form");
        form.elements.storage_secret.value = reply.value;
        form.submit();
      });
    });
  }
}());
