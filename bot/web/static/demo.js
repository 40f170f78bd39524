/* The demo page's controls: language buttons and the demo sign-in (bot/channels/webchat.py). */
(function () {
  "use strict";
  var base = window.location.pathname.replace(/\/?$/, "/");
  var NAMES_KEY = "support-chat-customer";

  function showWho(name) {
    var who = document.getElementById("who");
    var out = document.getElementById("sign-out");
    if (name) {
      who.textContent = "Signed in as " + name + ": the assistant knows who you are and asks for no e-mail.";
      out.hidden = false;
    } else {
      who.textContent = "Not signed in: the assistant asks for the account's e-mail or phone before it shows an order.";
      out.hidden = true;
    }
  }

  function signIn(key) {
    fetch(base + "sign-in", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ customer: key }),
    })
      .then(function (r) { if (!r.ok) throw new Error("sign-in failed: " + r.status); return r.json(); })
      .then(function (data) {
        window.SupportChat.setToken(data.token);
        try { window.sessionStorage.setItem(NAMES_KEY, data.name); } catch (e) { /* ignore */ }
        showWho(data.name);
      })
      .catch(function (error) { document.getElementById("who").textContent = String(error); });
  }

  function signOut() {
    window.SupportChat.setToken(null);
    try { window.sessionStorage.removeItem(NAMES_KEY); } catch (e) { /* ignore */ }
    showWho(null);
  }

  document.querySelectorAll("#languages button").forEach(function (button) {
    button.addEventListener("click", function () {
      window.SupportChat.setLanguage(button.getAttribute("data-language"));
    });
  });
  document.getElementById("sign-out").addEventListener("click", signOut);

  fetch(base + "demo-customers")
    .then(function (r) { return r.ok ? r.json() : []; })
    .then(function (customers) {
      var box = document.getElementById("customers");
      customers.forEach(function (c) {
        var button = document.createElement("button");
        button.type = "button";
        button.setAttribute("data-customer", c.key);
        button.textContent = c.name + " (" + c.language + ")";
        button.addEventListener("click", function () { signIn(c.key); });
        box.appendChild(button);
      });
    });

  var name = null;
  try { name = window.sessionStorage.getItem(NAMES_KEY); } catch (e) { name = null; }
  showWho(window.SupportChat && window.SupportChat.token() ? name : null);
})();
