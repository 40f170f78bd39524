/*
 * Support chat embed, one line on any page:
 *   <script src="https://BOT-HOST/webhooks/webchat/widget.js" data-element="chat" defer></script>
 *
 * The whole widget is this file. It loads its stylesheet and the socket.io client from the bot
 * server (no CDN; the server rewrites the two "static/..." names below to content-hashed ones) and
 * talks to the server's socket.io channel: websockets, or HTTP long-polling where they fail.
 * Optional attributes on the <script> tag:
 *   data-element="chat"   id of an element to fill (default: a floating button that opens the chat)
 *   data-title="..."      title of the chat, in every language (default: "Marketplace support",
 *                         translated)
 *
 * The page talks to it through window.SupportChat:
 *   SupportChat.setToken(jwt)     the signed-in customer's token, opaque to the widget: sent with
 *                                 every message, checked by the bot. null = signOut()
 *   SupportChat.signOut()         drops the token and starts a new conversation: new session id,
 *                                 nothing left in localStorage or on screen from the previous one
 *   SupportChat.setLanguage(code) "en" | "fr" | "sw": the chat's texts switch at once, and the bot
 *                                 is asked to switch too
 *   SupportChat.language()        the language of the chat's texts
 *   SupportChat.send(text)        sends a message as if typed (not shown in the conversation)
 *   SupportChat.onChange(fn)      fn({ signedIn, language }) after each change of either
 *   SupportChat.token(), .sessionId(), .transport()
 *
 * Language of the chat's own texts: the conversation's language once the bot has answered (each
 * bot message says its language), before that the browser's; the language buttons switch it.
 * The conversation (session id, messages, language) is kept in localStorage, so it survives a
 * reload; the token is kept in sessionStorage (this tab only). Bot text is shown as text: links
 * ([title](https://...) or a bare https:// address) and **bold** are the only formatting.
 */
(function () {
  "use strict";
  if (window.SupportChat && window.SupportChat.version) return; // embedded twice

  var script = document.currentScript;
  var base = new URL(script.src, window.location.href);
  var origin = base.origin;
  var prefix = base.href.replace(/\/widget\.js(?:[?#].*)?$/, "");
  var STYLESHEET = prefix + "/static/widget.css";
  var SOCKET_IO = prefix + "/static/socket.io.min.js";
  var STORE_KEY = "support-chat";
  var TOKEN_KEY = "support-chat-token";
  var MAX_STORED = 200;
  var MAX_CHARS = 2000;
  var LANGUAGE_NAMES = { en: "English", fr: "Français", sw: "Kiswahili" };
  var GREETINGS = { en: "hello", fr: "bonjour", sw: "habari" };
  // Sent with every socket.io request: a proxy in front of several bot servers routes by it, so a
  // long-polling session stays on the server that holds it (docs/scaling.md).
  var ROUTE = Math.random().toString(36).slice(2, 12);

  var TEXTS = {
    en: {
      title: "Marketplace support",
      subtitle: "We answer in English, French and Swahili",
      log: "Conversation with support",
      you: "You",
      bot: "Support",
      replies: "Suggested replies",
      input: "Your message",
      placeholder: "Type your message…",
      send: "Send",
      typing: "Support is typing…",
      connecting: "Connecting…",
      reconnecting: "Connection lost. Reconnecting…",
      offline: "We can't reach support right now. Check your connection: we keep trying.",
      queued: "Your message will be sent as soon as the connection is back.",
      open: "Chat with support",
      close: "Close the chat",
      colon: ": ",
    },
    fr: {
      title: "Service client Marketplace",
      subtitle: "Nous répondons en français, en anglais et en swahili",
      log: "Conversation avec le service client",
      you: "Vous",
      bot: "Service client",
      replies: "Réponses proposées",
      input: "Votre message",
      placeholder: "Écrivez votre message…",
      send: "Envoyer",
      typing: "Le service client écrit…",
      connecting: "Connexion…",
      reconnecting: "Connexion perdue. Reconnexion en cours…",
      offline: "Impossible de joindre le service client pour le moment. Vérifiez votre connexion\u00a0: nous réessayons.",
      queued: "Votre message partira dès que la connexion sera rétablie.",
      open: "Contacter le service client",
      close: "Fermer la discussion",
      colon: "\u00a0: ",
    },
    sw: {
      title: "Huduma kwa wateja",
      subtitle: "Tunajibu kwa Kiswahili, Kiingereza na Kifaransa",
      log: "Mazungumzo na huduma kwa wateja",
      you: "Wewe",
      bot: "Huduma kwa wateja",
      replies: "Majibu yanayopendekezwa",
      input: "Ujumbe wako",
      placeholder: "Andika ujumbe…",
      send: "Tuma",
      typing: "Huduma kwa wateja inaandika…",
      connecting: "Inaunganisha…",
      reconnecting: "Mtandao umekatika. Tunaunganisha tena…",
      offline: "Hatuwezi kufikia huduma kwa wateja sasa hivi. Angalia mtandao wako: tunaendelea kujaribu.",
      queued: "Ujumbe wako utatumwa mara mtandao utakaporudi.",
      open: "Ongea na huduma kwa wateja",
      close: "Funga mazungumzo",
      colon: ": ",
    },
  };

  // --- storage: the conversation in localStorage, the token in sessionStorage ----------------

  function read(storage, key) {
    try { return window[storage].getItem(key); } catch (e) { return null; }
  }
  function write(storage, key, value) {
    try {
      if (value === null) window[storage].removeItem(key);
      else window[storage].setItem(key, value);
    } catch (e) { /* private mode or full: this page only */ }
  }

  function browserLanguage() {
    var langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    for (var i = 0; i < langs.length; i++) {
      var code = String(langs[i] || "").slice(0, 2).toLowerCase();
      if (TEXTS[code]) return code;
    }
    return "en";
  }

  function loadConversation() {
    var stored = null;
    try { stored = JSON.parse(read("localStorage", STORE_KEY) || "null"); } catch (e) { stored = null; }
    if (!stored || typeof stored !== "object" || !Array.isArray(stored.messages)) {
      return { session_id: null, language: null, messages: [] };
    }
    return {
      session_id: typeof stored.session_id === "string" ? stored.session_id : null,
      language: TEXTS[stored.language] ? stored.language : null,
      messages: stored.messages.filter(function (m) { return m && typeof m.text === "string"; }),
    };
  }

  var conversation = loadConversation();
  var language = conversation.language || browserLanguage();
  var token = read("sessionStorage", TOKEN_KEY);
  var listeners = [];
  var socket = null;
  var ready = false; // connected and the session confirmed: messages can go out
  var outbox = []; // messages written before that
  var status = "connecting";
  var failures = 0;
  var ui = null;
  var typingTimer = null;

  function saveConversation() {
    if (!conversation.session_id) return;
    conversation.messages = conversation.messages.slice(-MAX_STORED);
    conversation.language = language;
    write("localStorage", STORE_KEY, JSON.stringify(conversation));
  }

  function t(key) {
    return (TEXTS[language] || TEXTS.en)[key];
  }

  function notify() {
    var change = { signedIn: !!token, language: language };
    listeners.forEach(function (fn) {
      try { fn(change); } catch (e) { console.error(e); }
    });
  }

  // --- rendering -------------------------------------------------------------------------------

  function el(tag, className, attrs) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    return node;
  }

  function safeUrl(value) {
    try {
      var url = new URL(value, window.location.href);
      return /^(https?|mailto):$/.test(url.protocol) ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  // Markdown links, bare web addresses and **bold**; everything else is text (never HTML).
  var INLINE = /\[([^\]\n]+)\]\(([^)\s]+)\)|\*\*([^*\n]+)\*\*|(https?:\/\/[^\s<>"]*[^\s<>".,;:!?)\]'])/g;

  function renderText(parent, text) {
    var last = 0;
    var match;
    INLINE.lastIndex = 0;
    while ((match = INLINE.exec(text)) !== null) {
      if (match.index > last) parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      if (match[3] !== undefined) {
        var strong = el("strong");
        strong.textContent = match[3];
        parent.appendChild(strong);
      } else {
        var label = match[1] !== undefined ? match[1] : match[4];
        var href = safeUrl(match[1] !== undefined ? match[2] : match[4]);
        if (href) {
          var link = el("a", "sc-link", { href: href, target: "_blank", rel: "noopener noreferrer nofollow" });
          link.textContent = label;
          parent.appendChild(link);
        } else {
          parent.appendChild(document.createTextNode(match[0]));
        }
      }
      last = INLINE.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function renderMessage(message) {
    var item = el("li", "sc-msg sc-" + (message.from === "bot" ? "bot" : "user"));
    var who = el("span", "sc-sr sc-who");
    who.setAttribute("data-who", message.from === "bot" ? "bot" : "you");
    who.textContent = t(message.from === "bot" ? "bot" : "you") + t("colon");
    var body = el("div", "sc-text");
    if (message.from === "bot") renderText(body, message.text);
    else body.textContent = message.text;
    item.appendChild(who);
    item.appendChild(body);
    ui.log.insertBefore(item, ui.typing);
  }

  function scrollDown() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function showReplies(replies) {
    ui.replies.textContent = "";
    ui.replies.hidden = !replies || !replies.length;
    (replies || []).forEach(function (reply) {
      var button = el("button", "sc-reply", { type: "button" });
      button.textContent = reply.title;
      button.addEventListener("click", function () {
        var url = /^https?:\/\//.test(reply.payload) ? safeUrl(reply.payload) : null;
        if (url) {
          window.open(url, "_blank", "noopener,noreferrer");
          return;
        }
        say(reply.payload, reply.title);
        ui.input.focus();
      });
      ui.replies.appendChild(button);
    });
  }

  function renderConversation() {
    Array.prototype.slice.call(ui.log.querySelectorAll(".sc-msg")).forEach(function (n) { n.remove(); });
    conversation.messages.forEach(renderMessage);
    var last = conversation.messages[conversation.messages.length - 1];
    showReplies(last && last.from === "bot" ? last.replies : null);
    scrollDown();
  }

  function setTyping(on) {
    clearTimeout(typingTimer);
    if (!ui) return;
    ui.typing.hidden = !on;
    if (on) {
      typingTimer = setTimeout(function () { ui.typing.hidden = true; }, 30000);
      scrollDown();
    }
  }

  function setStatus(next) {
    status = next;
    if (!ui) return;
    ui.status.textContent = next ? t(next) : "";
    ui.status.hidden = !next;
    ui.root.setAttribute("data-status", next || "ready");
  }

  function applyTexts() {
    if (!ui) return;
    var title = script.getAttribute("data-title") || t("title");
    ui.root.setAttribute("lang", language);
    ui.root.setAttribute("aria-label", title);
    ui.title.textContent = title;
    ui.subtitle.textContent = t("subtitle");
    ui.log.setAttribute("aria-label", t("log"));
    ui.replies.setAttribute("aria-label", t("replies"));
    ui.label.textContent = t("input");
    ui.input.setAttribute("placeholder", t("placeholder"));
    ui.sendButton.textContent = t("send");
    ui.typingText.textContent = t("typing");
    Array.prototype.slice.call(ui.log.querySelectorAll(".sc-who")).forEach(function (who) {
      who.textContent = t(who.getAttribute("data-who")) + t("colon");
    });
    if (ui.launcher) {
      ui.launcher.textContent = t("open");
      ui.close.setAttribute("aria-label", t("close"));
      ui.close.setAttribute("title", t("close"));
    }
    setStatus(status);
  }

  function build() {
    var host = null;
    var elementId = script.getAttribute("data-element");
    if (elementId) host = document.getElementById(elementId);
    var floating = !host;
    if (floating) {
      host = el("div", "sc-floating");
      document.body.appendChild(host);
    }
    var root = el("section", "sc-root" + (floating ? " sc-panel" : " sc-embedded"), { id: "support-chat" });
    var header = el("header", "sc-header");
    var title = el("h2", "sc-title", { id: "support-chat-title" });
    var subtitle = el("p", "sc-subtitle");
    header.appendChild(title);
    header.appendChild(subtitle);
    var status = el("p", "sc-status", { role: "status" });
    status.hidden = true;
    // role=log: screen readers read out each new message (aria-live polite), not the old ones.
    var log = el("ol", "sc-log", { role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0" });
    var typing = el("li", "sc-typing", { "aria-hidden": "true" });
    var dots = el("span", "sc-dots");
    dots.appendChild(el("span"));
    dots.appendChild(el("span"));
    dots.appendChild(el("span"));
    var typingText = el("span", "sc-sr");
    typing.appendChild(dots);
    typing.appendChild(typingText);
    typing.hidden = true;
    log.appendChild(typing);
    var replies = el("div", "sc-replies", { role: "group" });
    replies.hidden = true;
    var form = el("form", "sc-form", { novalidate: "" });
    var label = el("label", "sc-sr", { for: "support-chat-input" });
    var input = el("input", "sc-input", {
      id: "support-chat-input", type: "text", autocomplete: "off", maxlength: String(MAX_CHARS), enterkeyhint: "send",
    });
    var sendButton = el("button", "sc-send", { type: "submit" });
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(sendButton);
    root.appendChild(header);
    root.appendChild(status);
    root.appendChild(log);
    root.appendChild(replies);
    root.appendChild(form);
    host.appendChild(root);
    ui = {
      root: root, title: title, subtitle: subtitle, status: status, log: log, typing: typing, typingText: typingText,
      replies: replies, label: label, input: input, sendButton: sendButton,
    };
    root.setAttribute("aria-labelledby", "support-chat-title");

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      input.value = "";
      say(text, text);
    });

    if (floating) {
      var close = el("button", "sc-close", { type: "button" });
      close.textContent = "×";
      header.insertBefore(close, title);
      var launcher = el("button", "sc-launcher", { type: "button", "aria-controls": "support-chat", "aria-expanded": "false" });
      host.appendChild(launcher);
      ui.launcher = launcher;
      ui.close = close;
      root.hidden = true;
      var open = function (show) {
        root.hidden = !show;
        launcher.hidden = show;
        launcher.setAttribute("aria-expanded", String(show));
        if (show) {
          scrollDown();
          input.focus();
        } else {
          launcher.focus();
        }
      };
      launcher.addEventListener("click", function () { open(true); });
      close.addEventListener("click", function () { open(false); });
      root.addEventListener("keydown", function (event) {
        if (event.key === "Escape") open(false);
      });
    }
    applyTexts();
    renderConversation();
  }

  // --- conversation ----------------------------------------------------------------------------

  function addMessage(message) {
    conversation.messages.push(message);
    saveConversation();
    if (ui) {
      renderMessage(message);
      scrollDown();
    }
  }

  function metadata() {
    var data = { language: language };
    if (token) data.auth_token = token;
    return data;
  }

  function emit(text) {
    socket.emit("user_uttered", { message: text, session_id: conversation.session_id, customData: metadata() });
    setTyping(true);
  }

  // Sends `text`; `shown` is what the conversation shows for it (a button's title), or null.
  function say(text, shown) {
    text = String(text || "").slice(0, MAX_CHARS);
    if (!text.trim()) return;
    var last = conversation.messages[conversation.messages.length - 1];
    if (last && last.replies) {
      delete last.replies; // answered: its buttons go
      saveConversation();
    }
    if (shown !== null && shown !== undefined) addMessage({ from: "user", text: String(shown) });
    if (ui) showReplies(null);
    if (ready) emit(text);
    else {
      outbox.push(text);
      if (status !== "connecting") setStatus("queued");
    }
  }

  function greet() {
    say(GREETINGS[language], null);
  }

  function setLanguageOfTexts(code) {
    if (!TEXTS[code] || code === language) return;
    language = code;
    saveConversation();
    applyTexts();
    notify();
  }

  function onBotMessage(data) {
    if (!data || typeof data !== "object") return;
    setTyping(false);
    if (TEXTS[data.language]) setLanguageOfTexts(data.language);
    var text = typeof data.text === "string" ? data.text : "";
    var replies = (Array.isArray(data.quick_replies) ? data.quick_replies : Array.isArray(data.buttons) ? data.buttons : [])
      .filter(function (r) { return r && typeof r.title === "string" && typeof (r.payload || r.url) === "string"; })
      .map(function (r) { return { title: r.title, payload: r.payload || r.url }; });
    if (!text && data.attachment && data.attachment.payload && typeof data.attachment.payload.src === "string") {
      text = data.attachment.payload.src; // an image: shown as its link (the page's CSP loads no other host's images)
    }
    if (!text && !replies.length) return;
    var message = { from: "bot", text: text };
    if (replies.length) message.replies = replies;
    addMessage(message);
    if (ui) showReplies(replies);
  }

  function newConversation(sessionId) {
    conversation = { session_id: sessionId, language: language, messages: [] };
    saveConversation();
    if (ui) renderConversation();
    greet();
  }

  function connect() {
    var io = window.io;
    if (previousIo === undefined) delete window.io;
    else window.io = previousIo; // the page's own socket.io, if it has one
    socket = io(origin, {
      path: "/socket.io/",
      query: { route: ROUTE },
      transports: ["websocket", "polling"],
      tryAllTransports: true, // websockets, or long-polling where a proxy or the server refuses them
      reconnectionDelayMax: 10000,
    });
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: conversation.session_id });
    });
    socket.on("session_confirm", function (id) {
      var sessionId = typeof id === "string" ? id : id && id.session_id;
      ready = true;
      failures = 0;
      setStatus(null);
      if (sessionId !== conversation.session_id) {
        var pending = outbox.splice(0, outbox.length);
        newConversation(sessionId); // queues the greeting first
        pending.forEach(function (text) { emit(text); });
      } else {
        outbox.splice(0, outbox.length).forEach(function (text) { emit(text); });
      }
    });
    socket.on("bot_uttered", onBotMessage);
    socket.on("disconnect", function (reason) {
      ready = false;
      setTyping(false);
      if (reason !== "io client disconnect") setStatus("reconnecting");
    });
    socket.on("connect_error", function () {
      ready = false;
      failures += 1;
      setStatus(failures >= 3 ? "offline" : "reconnecting");
    });
  }

  // --- API ---------------------------------------------------------------------------------------

  function signOut() {
    token = null;
    write("sessionStorage", TOKEN_KEY, null);
    write("localStorage", STORE_KEY, null);
    conversation = { session_id: null, language: language, messages: [] };
    outbox.splice(0, outbox.length);
    ready = false;
    if (ui) {
      setTyping(false);
      renderConversation();
    }
    if (socket) {
      // A new connection: nothing addressed to the old session can reach this one.
      socket.disconnect();
      setStatus("connecting");
      socket.connect();
    }
    notify();
  }

  function setToken(value) {
    if (!value) {
      signOut();
      return;
    }
    token = String(value);
    write("sessionStorage", TOKEN_KEY, token);
    notify();
  }

  function setLanguage(code) {
    if (!TEXTS[code]) return;
    setLanguageOfTexts(code);
    // The bot follows explicit requests ("Français": intent switch_language) and otherwise
    // detects the language of every message.
    say(LANGUAGE_NAMES[code], null);
  }

  window.SupportChat = {
    version: 2,
    send: function (text) { say(text, null); },
    setToken: setToken,
    signOut: signOut,
    setLanguage: setLanguage,
    language: function () { return language; },
    token: function () { return token; },
    sessionId: function () { return conversation.session_id; },
    transport: function () {
      return socket && socket.connected && socket.io.engine ? socket.io.engine.transport.name : null;
    },
    onChange: function (fn) { if (typeof fn === "function") listeners.push(fn); },
  };

  // --- start -------------------------------------------------------------------------------------

  var previousIo = window.io;
  var stylesheet = el("link", null, { rel: "stylesheet", href: STYLESHEET });
  document.head.appendChild(stylesheet);
  var client = el("script", null, { src: SOCKET_IO });
  client.async = true;
  client.onload = connect;
  client.onerror = function () { setStatus("offline"); };
  document.head.appendChild(client);

  function start() {
    build();
    if (conversation.session_id) saveConversation(); // the language may have changed
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
