// The agent console (bot/handoff/console.py serves it and its API). No framework, no CDN: the
// page's Content-Security-Policy allows only this server. Every text from a customer is put in the
// page with textContent, never as HTML.
"use strict";

const API = "api";
const HEADERS = { "Content-Type": "application/json", "X-Requested-With": "agent-console" };
const QUEUE_POLL_MS = 5000;
const MESSAGES_POLL_MS = 2000;
const LANGUAGES = { en: "English", fr: "Français", sw: "Kiswahili" };

const state = { agent: null, tickets: [], current: null, count: 0, queueTimer: null, messageTimer: null, skew: 0 };
const $ = (id) => document.getElementById(id);

async function call(method, path, body) {
  const response = await fetch(`${API}/${path}`, {
    method, headers: HEADERS, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  if (response.status === 401 && path !== "session") showSignIn();
  return { status: response.status, data, headers: response.headers };
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function now() { return Date.now() / 1000 + state.skew; }

function seconds(value) { return typeof value === "number" ? value : Date.parse(value) / 1000; }

function duration(delta) {
  const minutes = Math.round(Math.abs(delta) / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h ${minutes % 60} min` : `${Math.floor(hours / 24)} d`;
}

function clock(value) {
  return new Date(seconds(value) * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

// --- sign-in ---------------------------------------------------------------------------------

function showSignIn() {
  stopTimers();
  $("console-view").hidden = true;
  $("who").hidden = true;
  $("sign-in-view").hidden = false;
}

async function signIn(event) {
  event.preventDefault();
  $("sign-in-error").textContent = "";
  const { status, data, headers } = await call("POST", "session", { name: $("name").value.trim(), password: $("password").value });
  $("password").value = "";
  if (status === 200) return start(data.agent);
  if (status === 429) {
    const wait = Math.ceil(Number(headers.get("Retry-After") || 60) / 60);
    $("sign-in-error").textContent = `Too many failed sign-ins: try again in ${wait} min.`;
  } else {
    $("sign-in-error").textContent = data.error || "Sign-in failed.";
  }
}

async function signOut() {
  await call("DELETE", "session");
  state.agent = null;
  showSignIn();
}

// --- queue -----------------------------------------------------------------------------------

function filters() {
  const query = new URLSearchParams({ status: $("filter-status").value });
  for (const name of ["queue", "language", "priority"]) {
    const value = $(`filter-${name}`).value;
    if (value) query.set(name, value);
  }
  return query.toString();
}

async function loadQueue() {
  const { status, data } = await call("GET", `tickets?${filters()}`);
  if (status !== 200) return;
  state.skew = data.now - Date.now() / 1000;
  state.tickets = data.tickets;
  renderQueue();
}

function renderQueue() {
  const list = $("tickets");
  list.replaceChildren();
  $("queue-count").textContent = `(${state.tickets.length})`;
  $("queue-empty").hidden = state.tickets.length > 0;
  for (const t of state.tickets) {
    const due = seconds(t.due_at) - now();
    const answered = Boolean(t.first_response_at);
    const dueText = answered ? "answered" : due < 0 ? `overdue ${duration(due)}` : `due in ${duration(due)}`;
    const item = el("li", { "data-ticket": t.number, class: state.current === t.number ? "selected" : "" },
      el("div", { class: "row1" },
        el("span", { class: "number" }, t.number),
        el("span", { class: `badge priority-${t.priority}` }, t.priority),
        el("span", { class: "badge" }, t.queue),
        el("span", { class: "badge" }, LANGUAGES[t.language] || t.language),
        el("span", { class: "muted" }, `${duration(now() - seconds(t.created_at))} old`),
        el("span", { class: !answered && due < 0 ? "due-overdue" : "muted" }, dueText)),
      el("div", { class: "muted" }, [t.customer_name || "unidentified customer", t.order_number ? `order ${t.order_number}` : null,
        t.channel, t.status.replace("_", " ")].filter(Boolean).join(" · ")),
      el("p", { class: "ticket-summary-line" }, t.summary));
    item.addEventListener("click", () => openTicket(t.number));
    list.append(item);
  }
}

// --- one ticket ------------------------------------------------------------------------------

function messageItem(m) {
  if (m.from === "system") {
    const label = { paused: "— bot paused: an agent has the conversation —", resumed: "— handed back to the bot —",
      new_session: "— new session —" }[m.event] || m.event;
    return el("li", { class: "system" }, `${label} ${clock(m.at)}`);
  }
  const who = m.from === "customer" ? `Customer · ${m.channel || ""}` : m.from === "agent" ? `${m.agent} (agent)` : "Bot";
  const item = el("li", { class: m.from }, el("span", { class: "who" }, `${who} · ${clock(m.at)}`), m.text);
  if (m.buttons && m.buttons.length) item.append(el("span", { class: "who" }, `buttons: ${m.buttons.join(" | ")}`));
  return item;
}

function appendMessages(messages) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  for (const m of messages) list.append(messageItem(m));
  if (atBottom || messages.length) list.scrollTop = list.scrollHeight;
}

function facts(target, pairs) {
  target.replaceChildren();
  for (const [key, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    target.append(el("dt", {}, key), el("dd", {}, value));
  }
  if (!target.children.length) target.append(el("dd", { class: "muted" }, "—"));
}

function setControls(details) {
  const active = ["open", "in_progress"].includes(details.status);
  $("reply-text").disabled = !details.can_reply;
  $("reply").querySelector("button").disabled = !details.can_reply;
  $("hand-back").disabled = !active;
  $("close").disabled = details.status === "closed";
  if (!details.can_reply) {
    $("reply-status").textContent = details.status === "closed" ? "Closed." : !active ? "Handed back to the bot."
      : details.paused === false && details.count ? "The bot has this conversation." : "No conversation to answer here.";
  }
}

async function openTicket(number) {
  state.current = number;
  history.replaceState(null, "", `#${number}`);
  renderQueue();
  const { status, data } = await call("GET", `tickets/${encodeURIComponent(number)}`);
  if (status !== 200) {
    $("ticket-none").textContent = data.error || "This ticket cannot be shown.";
    $("ticket-none").hidden = false;
    $("ticket-view").hidden = true;
    return;
  }
  const t = data.ticket;
  $("ticket-none").hidden = true;
  $("ticket-view").hidden = false;
  $("ticket-title").textContent = `${t.number} · ${t.priority} · ${t.queue}`;
  $("ticket-meta").textContent = [LANGUAGES[t.language] || t.language, `channel ${t.channel}`, `opened ${clock(t.created_at)}`,
    t.first_response_at ? `answered ${clock(t.first_response_at)}` : `due ${clock(t.due_at)}`,
    t.agent ? `agent ${t.agent}` : null, t.status.replace("_", " "), t.reply_to ? `reply to ${t.reply_to}` : null]
    .filter(Boolean).join(" · ");
  $("ticket-summary").textContent = t.summary;
  const c = data.customer;
  facts($("customer"), c ? [["Name", c.name], ["Country", c.country], ["Language", LANGUAGES[c.preferred_language]]]
    : [["", "Not identified (no verified account in this conversation)"]]);
  const o = data.order;
  facts($("order"), o ? [["Number", o.number], ["Status", o.status.replace(/_/g, " ")], ["Amount", `${o.amount} ${o.currency}`],
    ["Seller", o.seller], ["Paid", o.paid_at && clock(o.paid_at)], ["Delivery by", o.estimated_delivery && clock(o.estimated_delivery)],
    ["Tracking", o.shipment && `${o.shipment.carrier} ${o.shipment.tracking_number}`],
    ["Cancellation", o.cancellation_state !== "none" ? o.cancellation_state.replace(/_/g, " ") : null],
    ["Dispute", o.dispute && o.dispute.status.replace(/_/g, " ")], ["Refund", o.refund && `${o.refund.status} ${o.refund.amount}`]]
    : [["", "No order linked"]]);
  const recent = $("recent-orders");
  recent.replaceChildren(...(data.recent_orders || []).map((r) =>
    el("li", {}, `${r.number} · ${r.status.replace(/_/g, " ")} · ${r.first_item}`)));
  $("messages").replaceChildren();
  state.count = data.count;
  appendMessages(data.messages);
  $("reply-status").textContent = "";
  setControls({ ...data, status: t.status });
  startMessagePolling();
}

async function pollMessages() {
  const number = state.current;
  if (!number) return;
  const { status, data } = await call("GET", `tickets/${encodeURIComponent(number)}/messages?after=${state.count}`);
  if (status !== 200 || number !== state.current) return;
  state.count = data.count;
  appendMessages(data.messages);
  setControls(data);
}

async function sendReply(event) {
  event.preventDefault();
  const text = $("reply-text").value.trim();
  if (!text || !state.current) return;
  $("reply-status").textContent = "Sending…";
  const { status, data } = await call("POST", `tickets/${encodeURIComponent(state.current)}/reply`, { text });
  if (status === 200) {
    $("reply-text").value = "";
    $("reply-status").textContent = data.delivered === "next_exchange"
      ? "Recorded: the customer gets it with their next message (REST)." : `Sent on ${data.delivered}.`;
    await pollMessages();
  } else {
    $("reply-status").textContent = data.error || `Not sent (HTTP ${status}).`;
  }
}

async function release(action) {
  if (!state.current) return;
  const { status, data } = await call("POST", `tickets/${encodeURIComponent(state.current)}/${action}`, {});
  $("reply-status").textContent = status === 200
    ? (action === "close" ? "Ticket closed; the bot has the conversation." : "Handed back; the bot greeted the customer.")
    : data.error || `Refused (HTTP ${status}).`;
  await loadQueue();
  await openTicket(state.current);
}

// --- start -----------------------------------------------------------------------------------

function stopTimers() {
  clearInterval(state.queueTimer);
  clearInterval(state.messageTimer);
}

function startMessagePolling() {
  clearInterval(state.messageTimer);
  state.messageTimer = setInterval(pollMessages, MESSAGES_POLL_MS);
}

async function start(agent) {
  state.agent = agent;
  $("agent-name").textContent = agent;
  $("who").hidden = false;
  $("sign-in-view").hidden = true;
  $("console-view").hidden = false;
  await loadQueue();
  clearInterval(state.queueTimer);
  state.queueTimer = setInterval(loadQueue, QUEUE_POLL_MS);
  const wanted = decodeURIComponent(location.hash.slice(1));
  if (wanted) await openTicket(wanted);
}

document.addEventListener("DOMContentLoaded", async () => {
  $("sign-in").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("reply").addEventListener("submit", sendReply);
  $("hand-back").addEventListener("click", () => release("handback"));
  $("close").addEventListener("click", () => release("close"));
  for (const name of ["status", "queue", "language", "priority"]) $(`filter-${name}`).addEventListener("change", loadQueue);
  const { status, data } = await call("GET", "session");
  if (status === 200 && data.agent) start(data.agent);
  else showSignIn();
});
