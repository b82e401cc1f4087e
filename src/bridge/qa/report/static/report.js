window.onerror = function (message) { document.title = "ERROR: " + message; };
window.addEventListener("load", function () {
  var boxes = {};
  document.querySelectorAll("[data-plot]").forEach(function (element) {
    var r = element.getBoundingClientRect();
    boxes[element.getAttribute("data-plot")] = [
      Math.round(r.left + window.scrollX), Math.round(r.top + window.scrollY),
      Math.round(r.width), Math.round(r.height)
    ];
  });
  document.body.setAttribute("data-boxes", JSON.stringify(boxes));
  document.body.setAttribute("data-loaded", "yes");
});
