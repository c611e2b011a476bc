// The voice agent page's blocks to paste are selected whole by one click without script; where script runs, each
// also gets its copy button, which puts the block's text on the clipboard and says so.
(function () {
  var buttons = document.querySelectorAll("button.copy[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    var block = document.getElementById(button.getAttribute("data-copy"));
    if (!block || !navigator.clipboard) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(block.textContent).then(
        function () {
          button.textContent = "Copied";
        },
        function () {
          button.textContent = "Select the text to copy it";
        }
      );
    });
  });
})();
