/* Tori – small progressive enhancements; every page works without this file. */
(function () {
  "use strict";
  // Questions that depend on an earlier answer are hidden until that answer is given.
  function updateConditions(form) {
    form.querySelectorAll("[data-show-if-key]").forEach(function (block) {
      var name = "q_" + block.getAttribute("data-show-if-key");
      var wanted = block.getAttribute("data-show-if-values").split(" ");
      var shown = false;
      form.querySelectorAll("[name='" + name + "']").forEach(function (input) {
        var given = (input.type === "radio" || input.type === "checkbox") ? (input.checked ? input.value : null) : input.value;
        if (given !== null && wanted.indexOf(given) !== -1) {
          shown = true;
        }
      });
      block.hidden = !shown;
    });
  }
  // Live results: the server says "update" (server-sent events); the region fetches itself again.
  function followLive(region) {
    if (!window.EventSource || !window.htmx) { return; }
    var source = new EventSource(region.getAttribute("data-live-source"));
    var waiting = false;
    source.addEventListener("update", function () {
      if (waiting) { return; }
      waiting = true;
      setTimeout(function () {
        waiting = false;
        htmx.ajax("GET", region.getAttribute("data-live-fragment"), { target: region, swap: "innerHTML" });
      }, 500);
    });
  }
  // A kiosk starts again for the next person a few seconds after a vote, unless asked to wait.
  function kioskReset(root) {
    root.querySelectorAll("[data-kiosk-reset]").forEach(function (block) {
      var note = root.querySelector("[data-kiosk-note]");
      var timer = setTimeout(function () {
        // replace, not assign: the thank-you page leaves no step in the tablet's history.
        window.location.replace(block.getAttribute("data-kiosk-url"));
      }, 1000 * Number(block.getAttribute("data-kiosk-reset")));
      if (note) {
        note.hidden = false;
        note.querySelector("[data-kiosk-pause]").addEventListener("click", function () {
          clearTimeout(timer);
          note.hidden = true;
        });
      }
    });
  }
  document.addEventListener("htmx:load", function (event) { kioskReset(event.detail.elt); });
  // The head counter: every tap gets a token of its own, made before the form is sent, so that
  // two taps count twice while a request sent again (same token) counts once.
  function tapToken() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute && form.hasAttribute("data-tap-form")) {
      form.querySelector("input[name='tap']").value = tapToken();
    }
  }, true);
  // A kiosk form left untouched (the person walked away) is cleared for the next one: after
  // data-kiosk-idle seconds a notice asks whether someone is still answering; with no answer in
  // data-kiosk-notice seconds more, the kiosk's start page replaces the form. The form and the
  // notice are looked up on every tick (htmx may have swapped them), so a test may change them.
  var idleWatched = false;
  function kioskIdle() {
    if (idleWatched || !document.querySelector("form[data-kiosk-idle]")) { return; }
    idleWatched = true;
    var last = Date.now();
    function touched() {
      last = Date.now();
      var note = document.querySelector("[data-kiosk-idle-note]");
      if (note) { note.hidden = true; }
    }
    // Not "scroll": the notice itself, or the browser keeping the view in place, scrolls.
    ["input", "change", "click", "keydown", "pointerdown", "touchstart", "wheel"].forEach(function (name) {
      document.addEventListener(name, touched, { passive: true, capture: true });
    });
    setInterval(function () {
      var form = document.querySelector("form[data-kiosk-idle]");
      if (!form) { return; }
      var note = document.querySelector("[data-kiosk-idle-note]");
      var idle = (Date.now() - last) / 1000;
      var limit = Number(form.getAttribute("data-kiosk-idle"));
      if (idle >= limit + Number(form.getAttribute("data-kiosk-notice"))) {
        window.location.replace(form.getAttribute("data-kiosk-url"));
      } else if (idle >= limit && note && note.hidden) {
        note.hidden = false;
      }
    }, 1000);
  }
  function conditionalForms(root) {
    root.querySelectorAll("form[data-conditional]").forEach(function (form) {
      form.querySelectorAll("[data-condition-note]").forEach(function (note) { note.hidden = true; });
      updateConditions(form);
      if (!form.hasAttribute("data-conditions-followed")) {
        form.setAttribute("data-conditions-followed", "");
        form.addEventListener("change", function () { updateConditions(form); });
      }
    });
  }
  // A form swapped in by htmx (the kiosk's questionnaire shown again) follows its conditions too.
  document.addEventListener("htmx:load", function (event) {
    if (event.detail.elt.querySelectorAll) { conditionalForms(event.detail.elt); }
    kioskIdle();
  });
  // A whole page shown in place of the page (another language, an error page) brings its language
  // and its direction (Arabic and Persian are written right to left).
  document.addEventListener("htmx:afterSwap", function (event) {
    var xhr = event.detail.xhr;
    var found = xhr && /<html([^>]*)>/i.exec(xhr.responseText.slice(0, 500));
    var lang = found && /\slang="([a-zA-Z0-9-]{2,16})"/.exec(found[1]);
    if (!lang) { return; }
    var root = document.documentElement;
    root.lang = lang[1];
    if (/\sdir="rtl"/.test(found[1])) { root.dir = "rtl"; } else { root.removeAttribute("dir"); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-source]").forEach(followLive);
    if (!window.htmx) { kioskReset(document); }
    kioskIdle();
    conditionalForms(document);
  });
})();
