/* Frontdesk: the little script every page loads. No inline scripts anywhere (CSP). */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // htmx requests that change state carry the session's CSRF token, as forms do.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRFToken"] = token;
    }
  });

  // SMS segment counter: under a <textarea data-sms-counter="<url>">, the element named by
  // data-sms-counter-output shows what the server counts (characters, segments, encoding),
  // so the page and the dispatcher agree on what a text costs.
  function watchSmsCounter(textarea) {
    var output = document.getElementById(textarea.getAttribute("data-sms-counter-output"));
    if (!output || textarea.getAttribute("data-sms-counter-ready")) {
      return;
    }
    textarea.setAttribute("data-sms-counter-ready", "1");
    var timer = null;
    var latest = 0;
    function update() {
      var request = ++latest;
      var body = new FormData();
      body.append("text", textarea.value);
      fetch(textarea.getAttribute("data-sms-counter"), {
        method: "POST", body: body, credentials: "same-origin",
        headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"}
      }).then(function (response) {
        return response.ok ? response.json() : {label: ""};
      }).then(function (count) {
        if (request === latest) {
          output.textContent = count.label;
        }
      }, function () {
        output.textContent = "";
      });
    }
    textarea.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 200);
    });
    update();
  }

  function watchSmsCounters(root) {
    root.querySelectorAll("textarea[data-sms-counter]").forEach(watchSmsCounter);
  }

  document.addEventListener("DOMContentLoaded", function () { watchSmsCounters(document); });
  document.addEventListener("htmx:load", function (event) { watchSmsCounters(event.target); });

  // Inbox: while the reply box changes, the thread's live refresh says "typing" (the flag
  // named by data-typing-flag), so others in the conversation see it; it clears after 8 s.
  var typingTimer = null;
  document.addEventListener("input", function (event) {
    var flag = event.target.getAttribute && event.target.getAttribute("data-typing-flag");
    var input = flag && document.getElementById(flag);
    if (!input) {
      return;
    }
    input.value = "1";
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(function () { input.value = "0"; }, 8000);
  });

  // Inbox keyboard shortcuts, outside text fields: j / k next and previous conversation,
  // a assign to me, e close.
  function inboxKey(event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || !document.querySelector("[data-inbox]")
        || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable) {
      return;
    }
    var form = {a: "assign-me", e: "close-form"}[event.key];
    if (form && document.getElementById(form)) {
      event.preventDefault();
      document.getElementById(form).requestSubmit();
      return;
    }
    if (event.key !== "j" && event.key !== "k") {
      return;
    }
    var links = Array.prototype.slice.call(document.querySelectorAll(".inbox-row > a"));
    var current = links.findIndex(function (link) { return link.getAttribute("aria-current"); });
    var next = links[current + (event.key === "j" ? 1 : -1)] || (current < 0 ? links[0] : null);
    if (next) {
      event.preventDefault();
      window.location.assign(next.href);
    }
  }
  document.addEventListener("keydown", inboxKey);
})();
