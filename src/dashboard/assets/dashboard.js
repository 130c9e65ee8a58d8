// Joe dashboard: the few live parts. Without this script every page still works (reload).
// - #tasks[data-live]: asks for tasks newer than the newest shown, and for tasks changed since
//   the last event seen, every 2 s while the page is visible; adds or replaces their rows.
// - [data-link-status]: asks whether the bot got its /start; reloads into "linked" when it did.
// - form[data-confirm]: asks before destructive actions.
"use strict";
(function () {
  function poll(fn, ms) {
    var run = function () {
      if (document.hidden) return setTimeout(run, ms);
      fn()
        .catch(function () {})
        .then(function () {
          setTimeout(run, ms);
        });
    };
    setTimeout(run, ms);
  }

  var list = document.querySelector("#tasks[data-live]");
  if (list) {
    poll(function () {
      var q = list.dataset.query ? list.dataset.query + "&" : "";
      var url = list.dataset.live + "?" + q + "after=" + list.dataset.after + "&ev=" + list.dataset.ev;
      return fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error(String(r.status));
          return r.json();
        })
        .then(function (data) {
          // Oldest first, so that each new one goes on top and the newest ends up first.
          data.items
            .slice()
            .sort(function (a, b) {
              return a.id - b.id;
            })
            .forEach(function (it) {
              var tpl = document.createElement("template");
              tpl.innerHTML = it.html.trim();
              var node = tpl.content.firstElementChild;
              var old = document.getElementById("task-" + it.id);
              if (old) {
                old.replaceWith(node);
                return;
              }
              if (it.id <= Number(list.dataset.after)) return; // changed, but not on this page
              node.classList.add("fresh");
              list.prepend(node);
            });
          list.dataset.after = String(data.after);
          list.dataset.ev = String(data.ev);
          var empty = document.querySelector(".empty");
          if (empty && list.children.length) empty.remove();
        });
    }, 2000);
  }

  var link = document.querySelector("[data-link-status]");
  if (link) {
    poll(function () {
      return fetch(link.dataset.linkStatus, { credentials: "same-origin" })
        .then(function (r) {
          return r.json();
        })
        .then(function (s) {
          if (s.verificado) location.reload();
        });
    }, 1500);
  }

  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!confirm(f.dataset.confirm)) e.preventDefault();
    });
  });
})();
