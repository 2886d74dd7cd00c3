/* Small behaviours on top of htmx: error notices, fading flash messages, copy buttons. */
(function () {
  "use strict";

  function flash(text, kind) {
    var box = document.getElementById("messages");
    if (!box) return;
    var item = document.createElement("div");
    item.className = "flash flash-" + (kind || "error");
    item.setAttribute("role", "alert");
    item.textContent = text;
    box.appendChild(item);
    fade(item);
  }

  function fade(item) {
    setTimeout(function () {
      item.remove();
    }, 6000);
  }

  // A refused or failed htmx request is not swapped into the page: say what happened.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var data = document.body.dataset;
    if (status === 403) flash(data.msgForbidden);
    else if (status === 404) flash(data.msgMissing);
    else flash(data.msgFailed);
  });
  document.addEventListener("htmx:sendError", function () {
    flash(document.body.dataset.msgFailed);
  });

  function fadeAll(root) {
    (root || document).querySelectorAll("#messages .flash").forEach(fade);
  }
  document.addEventListener("DOMContentLoaded", function () { fadeAll(); });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "messages") fadeAll();
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.dataset.copy);
    if (!field) return;
    field.select();
    var done = function () { button.textContent = button.dataset.copied || button.textContent; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done);
    } else {
      document.execCommand("copy");
      done();
    }
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) event.target.select();
  });
})();
