/*
 * Support chat embed: <script src="https://BOT-HOST/webhooks/webchat/widget.js" defer></script>
 *
 * Loads the rasa-webchat widget from the bot server (no CDN) and connects it to the server's
 * socket.io channel. Optional attributes on the <script> tag:
 *   data-element="chat"    id of an element to embed the chat in (default: floating launcher)
 *   data-title="..."       title of the chat window
 * The page talks to it through window.SupportChat:
 *   SupportChat.setToken(jwt)      the signed-in customer's token (the bot trusts only valid,
 *                                  unexpired tokens signed with AUTH_JWT_SECRET); null signs out
 *   SupportChat.setLanguage(code)  "en" | "fr" | "sw": asks the bot to switch language
 *   SupportChat.send(text)         sends a message as if typed (not shown in the conversation)
 * The conversation (socket.io session id and messages) is kept in localStorage, so it survives a
 * reload; the token is kept in sessionStorage (this tab only).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = new URL(script.src, window.location.href).origin;
  var prefix = origin + "/webhooks/webchat";
  var TOKEN_KEY = "support-chat-token";
  var LANGUAGE_NAMES = { en: "English", fr: "Français", sw: "Kiswahili" };
  var GREETINGS = { en: "hello", fr: "bonjour", sw: "habari" };

  function browserLanguage() {
    var langs = navigator.languages || [navigator.language || "en"];
    for (var i = 0; i < langs.length; i++) {
      var code = String(langs[i] || "").slice(0, 2).toLowerCase();
      if (GREETINGS[code]) return code;
    }
    return "en";
  }

  // Sent with every message as the socket.io channel's metadata (metadata_key: customData).
  // The widget keeps a reference to this object, so changing it changes what the next message
  // carries.
  var customData = { language: browserLanguage() };
  var stored = null;
  try { stored = window.sessionStorage.getItem(TOKEN_KEY); } catch (e) { stored = null; }
  if (stored) customData.auth_token = stored;

  var ref = null;
  var queue = [];
  var listeners = [];

  function send(text) {
    if (ref && ref.sendMessage) ref.sendMessage(text);
    else queue.push(text);
  }

  function setToken(token) {
    try {
      if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
      else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* private mode: the token lives for this page only */ }
    if (token) customData.auth_token = token;
    else delete customData.auth_token;
    listeners.forEach(function (fn) { fn({ signedIn: !!token }); });
  }

  function setLanguage(code) {
    if (!LANGUAGE_NAMES[code]) return;
    customData.language = code;
    // The bot follows explicit requests ("Français", "Kiswahili", "English": intent
    // switch_language) and otherwise detects the language of every message.
    send(LANGUAGE_NAMES[code]);
  }

  window.SupportChat = {
    send: send,
    setToken: setToken,
    setLanguage: setLanguage,
    token: function () { return customData.auth_token || null; },
    onChange: function (fn) { listeners.push(fn); },
  };

  function mount() {
    var elementId = script.getAttribute("data-element");
    var element = elementId ? document.getElementById(elementId) : null;
    window.WebChat.default(
      {
        socketUrl: origin,
        socketPath: "/socket.io/",
        customData: customData,
        initPayload: GREETINGS[customData.language],
        title: script.getAttribute("data-title") || "Support",
        subtitle: "English · Français · Kiswahili",
        inputTextFieldHint: "Message…",
        embedded: !!element,
        withRules: false,
        hideWhenNotConnected: false,
        showMessageDate: false,
        params: { storage: "local" },
        customMessageDelay: function () { return 250; },
        innerRef: function (instance) {
          ref = instance;
          if (ref) {
            var pending = queue.splice(0, queue.length);
            pending.forEach(function (text) { ref.sendMessage(text); });
          }
        },
      },
      element
    );
  }

  var vendor = document.createElement("script");
  vendor.src = prefix + "/static/rasa-webchat.js";
  vendor.onload = mount;
  vendor.onerror = function () { console.error("support chat: the widget could not be loaded"); };
  document.head.appendChild(vendor);
})();
