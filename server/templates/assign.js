// The Assign User form lists, for the chosen user, only the roles that user
// holds (R3). Without this script the form still works: the roles are
// grouped by user, and a role the chosen user does not hold is refused.
(function () {
  var user = document.getElementById("user_id");
  var role = document.getElementById("role");
  if (!user || !role) {
    return;
  }
  var none = document.getElementById("role-none");
  function filter() {
    var chosen = role.options[role.selectedIndex];
    var who = user.options[user.selectedIndex];
    if (none && who) {
      var n = Number(who.getAttribute("data-roles") || 0);
      none.textContent = !user.value ? "Choose a user first"
        : n > 1 ? "Choose one of the user's roles\u2026"
        : n === 1 ? who.getAttribute("data-role") + " (the user's only role)"
        : "The user holds no role";
    }
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
