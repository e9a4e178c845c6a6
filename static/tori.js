/* Tori – small progressive enhancements; every page works without this file. */
(function () {
  "use strict";
  // Questions that depend on an earlier answer are hidden until that answer is given.
  function updateConditions(form) {
    form.querySelectorAll("[data-show-if-key]").forEach(function (block) {
      var name = "q_" + block.getAttribute("data-show-if-key");
      var wanted = block.getAttribute("data-show-if-value");
      var shown = false;
      form.querySelectorAll("[name='" + name + "']").forEach(function (input) {
        if ((input.type === "radio" || input.type === "checkbox") ? input.checked && input.value === wanted : input.value === wanted) {
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
        window.location.assign(block.getAttribute("data-kiosk-url"));
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
    document.querySelectorAll("form[data-conditional]").forEach(function (form) {
      form.querySelectorAll("[data-condition-note]").forEach(function (note) { note.hidden = true; });
      updateConditions(form);
      form.addEventListener("change", function () { updateConditions(form); });
    });
  });
})();
