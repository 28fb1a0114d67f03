// Latchkey console: enhancements only. Every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Copy buttons: data-copy names the input whose value is copied.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy"));
      if (!input) { return; }
      var done = function () {
        button.textContent = "Copied";
        var status = document.getElementById("copy-status");
        if (status) { status.textContent = "The token is on your clipboard."; }
      };
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          if (document.execCommand("copy")) { done(); }
        });
      } else if (document.execCommand("copy")) {
        done();
      }
    });
  });
  // Confirmations: a link with data-confirm and data-post asks, then posts (with the page's CSRF
  // token); without this script the link opens a confirmation page instead.
  var csrf = document.querySelector('meta[name="csrf"]');
  document.querySelectorAll("a[data-confirm][data-post]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      if (!window.confirm(link.getAttribute("data-confirm"))) { link.focus(); return; }
      var form = document.createElement("form");
      form.method = "post";
      form.action = link.getAttribute("data-post");
      var token = document.createElement("input");
      token.type = "hidden";
      token.name = "csrf";
      token.value = csrf ? csrf.getAttribute("content") : "";
      form.appendChild(token);
      document.body.appendChild(form);
      form.submit();
    });
  });
  // New token: show a row's environment categories only for sets that have them, and its
  // project list only when "chosen projects" is picked.
  document.querySelectorAll("fieldset[data-row]").forEach(function (row) {
    var select = row.querySelector("select[data-set]");
    var envs = row.querySelector("[data-envs]");
    var projects = row.querySelector("[data-projects]");
    var update = function () {
      var option = select.options[select.selectedIndex];
      if (envs) { envs.hidden = !(option && option.hasAttribute("data-has-envs")); }
      var chosen = row.querySelector('input[value="projects"]');
      if (projects && chosen) { projects.hidden = !chosen.checked; }
    };
    select.addEventListener("change", update);
    row.querySelectorAll('input[type="radio"]').forEach(function (r) { r.addEventListener("change", update); });
    update();
  });
});
