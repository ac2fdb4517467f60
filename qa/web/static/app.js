// Progressive enhancement only: the page works without it. While a question is being answered,
// say so and keep a second click from sending it again.
(function () {
  var label = null;
  // Lets CSS (and tests) tell whether scripts run at all.
  document.documentElement.classList.add("js");

  function reset() {
    // Coming back through the history cache would otherwise leave the button disabled.
    var button = document.querySelector("form.ask button");
    if (button && label !== null) {
      button.disabled = false;
      button.textContent = label;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.ask");
    if (!form) return;
    form.addEventListener("submit", function () {
      var button = form.querySelector("button");
      if (!button) return;
      label = button.textContent;
      button.disabled = true;
      button.textContent = "正在查找…";
    });
  });
  window.addEventListener("pageshow", reset);
})();
