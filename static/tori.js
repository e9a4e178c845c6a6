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
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-conditional]").forEach(function (form) {
      form.querySelectorAll("[data-condition-note]").forEach(function (note) { note.hidden = true; });
      updateConditions(form);
      form.addEventListener("change", function () { updateConditions(form); });
    });
  });
})();
