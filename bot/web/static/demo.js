/* The demo page: its texts in the chat's language, the language buttons and the demo sign-in
 * (bot/channels/webchat.py). The page follows the widget: SupportChat.language() and onChange. */
(function () {
  "use strict";
  var base = window.location.pathname.replace(/\/?$/, "/");
  var NAME_KEY = "support-chat-customer";
  var chat = window.SupportChat;

  var TEXTS = {
    en: {
      title: "Help Centre · Marketplace support",
      centre: "Help Centre",
      heading: "Chat with support",
      intro: "Ask about an order, a cancellation, a refund or a dispute, in English, French or Swahili.",
      language: "Language",
      hint: "Or just write: the assistant detects the language of every message.",
      signIn: "Demo sign-in",
      signedIn: "Signed in as {name}: the assistant knows who you are and asks for no e-mail.",
      signedOut: "Not signed in: the assistant asks for the account's e-mail or phone before it shows an order.",
      signOut: "Sign out",
      signInFailed: "Sign-in failed. Please try again.",
      try: "Try",
    },
    fr: {
      title: "Centre d'aide · Service client Marketplace",
      centre: "Centre d'aide",
      heading: "Discutez avec le service client",
      intro: "Une question sur une commande, une annulation, un remboursement ou un litige\u00a0? Écrivez en français, en anglais ou en swahili.",
      language: "Langue",
      hint: "Ou écrivez directement\u00a0: l'assistant reconnaît la langue de chaque message.",
      signIn: "Connexion de démonstration",
      signedIn: "Connecté en tant que {name}\u00a0: l'assistant sait qui vous êtes et ne vous demande pas votre e-mail.",
      signedOut: "Non connecté\u00a0: l'assistant demande l'e-mail ou le téléphone du compte avant d'afficher une commande.",
      signOut: "Se déconnecter",
      signInFailed: "La connexion a échoué. Veuillez réessayer.",
      try: "Essayez",
    },
    sw: {
      title: "Kituo cha msaada · Huduma kwa wateja",
      centre: "Kituo cha msaada",
      heading: "Ongea na huduma kwa wateja",
      intro: "Uliza kuhusu oda, kughairi oda, kurejeshewa pesa au mgogoro, kwa Kiswahili, Kiingereza au Kifaransa.",
      language: "Lugha",
      hint: "Au andika tu: msaidizi anatambua lugha ya kila ujumbe.",
      signIn: "Kuingia kwa majaribio",
      signedIn: "Umeingia kama {name}: msaidizi anakutambua, hatakuuliza barua pepe.",
      signedOut: "Hujaingia: msaidizi atakuuliza barua pepe au nambari ya simu ya akaunti kabla ya kukuonyesha oda.",
      signOut: "Toka",
      signInFailed: "Imeshindikana kuingia. Tafadhali jaribu tena.",
      try: "Jaribu",
    },
  };

  var name = null;
  try { name = window.sessionStorage.getItem(NAME_KEY); } catch (e) { name = null; }
  var failed = false;

  function texts() {
    return TEXTS[chat.language()] || TEXTS.en;
  }

  function render() {
    var t = texts();
    document.documentElement.lang = chat.language();
    document.title = t.title;
    document.querySelectorAll("[data-text]").forEach(function (node) {
      node.textContent = t[node.getAttribute("data-text")];
    });
    document.querySelectorAll("#languages button").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-language") === chat.language()));
    });
    var signedIn = !!chat.token() && !!name;
    var who = document.getElementById("who");
    who.setAttribute("data-signed-in", String(signedIn));
    who.textContent = failed ? t.signInFailed : signedIn ? t.signedIn.replace("{name}", name) : t.signedOut;
    document.getElementById("sign-out").hidden = !signedIn;
  }

  function signIn(key) {
    fetch(base + "sign-in", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ customer: key }),
    })
      .then(function (r) { if (!r.ok) throw new Error("sign-in failed: " + r.status); return r.json(); })
      .then(function (data) {
        failed = false;
        name = data.name;
        try { window.sessionStorage.setItem(NAME_KEY, data.name); } catch (e) { /* this page only */ }
        chat.setToken(data.token); // re-renders through onChange
      })
      .catch(function (error) {
        console.error(error);
        failed = true;
        render();
      });
  }

  function signOut() {
    name = null;
    failed = false;
    try { window.sessionStorage.removeItem(NAME_KEY); } catch (e) { /* ignore */ }
    chat.signOut(); // a new conversation: nothing of this customer's stays on screen
  }

  document.querySelectorAll("#languages button").forEach(function (button) {
    button.addEventListener("click", function () { chat.setLanguage(button.getAttribute("data-language")); });
  });
  document.getElementById("sign-out").addEventListener("click", signOut);
  chat.onChange(render);

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

  render();
})();
