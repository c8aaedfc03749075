// The Assign User form lists, for the chosen user, only the roles that user
// holds (R3). Without this script the form still works: the roles are
// grouped by user, and a role the chosen user does not hold is refused.
(function () {
  var user = document.getElementById("user_id");
  var role = document.getElementById("role");
  if (!user || !role) {
    return;
  }
  function filter() {
    var chosen = role.options[role.selectedIndex];
    role.querySelectorAll("optgroup").forEach(function (group) {
      var mine = group.getAttribute("data-user") === user.value;
      group.hidden = !mine;
      if (!mine && chosen && chosen.parentNode === group) {
        role.value = "";
      }
    });
  }
  user.addEventListener("change", filter);
  filter();
})();
