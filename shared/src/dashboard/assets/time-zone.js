// The sign-up page's time zone field starts at the server's default; the browser knows where it is, so its own zone
// is offered instead, as long as the person has not typed one and the page lists that zone.
(function () {
  var field = document.getElementById("time_zone");
  var list = document.getElementById("time-zones");
  if (!field || !list || field.value !== field.getAttribute("data-default")) {
    return;
  }
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  var known = Array.prototype.some.call(list.options, function (option) {
    return option.value === zone;
  });
  if (known) {
    field.value = zone;
  }
})();
