// Drives the web chat in Debian's Chromium (headless) with playwright-core, as a visitor would.
//
//   node chat.mjs   (settings in the environment, set by tests/e2e/test_browser.py)
//     PLAYWRIGHT_CORE_DIR  directory of the installed playwright-core package
//     CHROMIUM             browser executable (default /usr/bin/chromium)
//     BASE_URL             the Rasa server (the page is BASE_URL/webhooks/webchat/)
//     SCREENSHOT_DIR       where webchat-<lang>.png are written
//     RESULT_FILE          JSON summary for the Python side
//
// Visitors, each in a fresh browser profile whose locale is their language:
// * a French visitor on another site that embeds the one line: the floating button, keyboard only;
// * French: the chat's texts are French; Amina signs in and cancels an order with the buttons,
//   reloads the page and goes on; asks where an order is (shown), signs out, asks again in the
//   new conversation (asked for her e-mail or phone); bot text is never HTML.
// * Swahili, with websockets refused: the chat falls back to long-polling;
//   Wanjiku signs in and asks where her order is.
// * English: not signed in, asked to prove who they are; the language buttons switch the chat's
//   texts and the bot; a French message turns the texts French.
// Any failure exits non-zero with the reason.

import { createRequire } from "node:module";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { BOT, FLAGS, TIMEOUT, botTexts, fail, say, waitForBot } from "./helpers.mjs";

const require = createRequire(path.join(process.env.PLAYWRIGHT_CORE_DIR, "package.json"));
const { chromium } = require("playwright-core");

const BASE = process.env.BASE_URL.replace(/\/$/, "");
const PAGE = `${BASE}/webhooks/webchat/`;
const SHOTS = process.env.SCREENSHOT_DIR;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ORDER = process.env.ORDER_TO_CANCEL || "8170034500000003"; // Amina's, awaiting shipment
const SHIPPED = "8170034500000007"; // Amina's, shipped
// Another web site (an origin in CORS_ORIGINS) that embeds the chat with the one line and no
// data-element: the floating button. The test serves its page itself: nothing listens there.
const SHOP = (process.env.EMBED_ORIGIN || "http://localhost:5005").replace(/\/$/, "");
const SHOP_PAGE = `${SHOP}/shop/help.html`;

const result = { page: PAGE, scenarios: {}, external_requests: [], console_errors: [] };
let offline = false; // while the test cuts the network, failed requests are expected

async function withVisitor(locale, run, { blockWebsockets = false } = {}) {
  const profile = mkdtempSync(path.join(tmpdir(), "webchat-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    locale,
    viewport: { width: 1180, height: 760 },
    timeout: TIMEOUT,
  });
  const origin = new URL(BASE).origin;
  // Nothing may leave the machine: any request to another host is recorded and aborted.
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith("data:") || url.startsWith("blob:")) return route.continue();
    result.external_requests.push(url);
    return route.abort();
  });
  await context.route(SHOP_PAGE, (route) => route.fulfill({
    contentType: "text/html; charset=utf-8",
    body: `<!doctype html><html><head><meta charset="utf-8"><title>Shop</title></head><body>
      <h1>Shop help</h1><p><a href="#top">Top</a></p>
      <script src="${PAGE}widget.js" defer></script></body></html>`,
  }));
  if (blockWebsockets) {
    // As on a network whose proxy refuses websockets: the page's policy allows connections to
    // the server over HTTP only, so the browser refuses to open the websocket.
    await context.route(PAGE, async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers["content-encoding"];
      delete headers["content-length"];
      headers["content-security-policy"] = headers["content-security-policy"].replace(
        "connect-src 'self'", `connect-src ${origin}`,
      );
      await route.fulfill({ response, headers });
    });
  }
  context.on("console", (msg) => {
    const refusedWebsocket = blockWebsockets && /Content Security Policy|WebSocket connection/.test(msg.text());
    if (msg.type() === "error" && !refusedWebsocket && !offline) result.console_errors.push(`${locale}: ${msg.text()}`.slice(0, 300));
  });
  context.on("weberror", (error) => result.console_errors.push(`${locale}: ${error.error()}`.slice(0, 300)));
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(TIMEOUT);
    await run(page);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function clickReply(page, title) {
  const before = (await botTexts(page)).length;
  const reply = page.locator(".sc-reply", { hasText: title }).last();
  await reply.waitFor({ state: "visible" });
  await reply.click();
  return before;
}

async function signIn(page, key) {
  await page.locator(`#customers button[data-customer="${key}"]`).click();
  await page.waitForFunction(() => document.getElementById("who").getAttribute("data-signed-in") === "true");
  const token = await page.evaluate(() => window.SupportChat.token());
  if (!token || token.split(".").length !== 3) fail(`no token after signing in as ${key}`);
}

// The chat's own texts as the visitor sees them (and as assistive technology reads them).
async function chrome(page) {
  return page.evaluate(() => {
    const input = document.querySelector(".sc-input");
    const label = document.querySelector(`label[for="${input.id}"]`);
    return {
      lang: document.querySelector(".sc-root").getAttribute("lang"),
      page_lang: document.documentElement.lang,
      title: document.querySelector(".sc-title").textContent,
      placeholder: input.getAttribute("placeholder"),
      input_label: label && label.textContent,
      send: document.querySelector(".sc-send").textContent,
      log_label: document.querySelector(".sc-log").getAttribute("aria-label"),
      log_live: document.querySelector(".sc-log").getAttribute("aria-live"),
      heading: document.querySelector("h1").textContent,
      who: document.getElementById("who").textContent,
      document_title: document.title,
    };
  });
}

async function waitForChrome(page, placeholder) {
  try {
    await page.waitForFunction(
      (expected) => document.querySelector(".sc-input").getAttribute("placeholder") === expected,
      placeholder, { timeout: TIMEOUT, polling: 100 },
    );
  } catch (error) {
    fail(`the chat's texts did not become "${placeholder}": ${JSON.stringify(await chrome(page))}`);
  }
  return chrome(page);
}

async function openPage(page, greeting) {
  await page.goto(PAGE, { waitUntil: "load" });
  await page.locator(".sc-log").waitFor({ state: "visible" });
  const text = await waitForBot(page, greeting); // a greeting in the browser's language
  await page.waitForFunction(() => window.SupportChat.transport() !== null);
  return text;
}

// Waits until the bot has stopped writing: same number of messages for 1.5 s, no typing dots.
async function settle(page) {
  let last = -1;
  let stableSince = Date.now();
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline) {
    const count = (await botTexts(page)).length;
    const typing = await page.locator(".sc-typing:not([hidden])").count();
    if (count !== last || typing) {
      last = count;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 1500) {
      return;
    }
    await page.waitForTimeout(250);
  }
}

async function screenshot(page, lang) {
  await settle(page);
  mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `webchat-${lang}.png`);
  await page.screenshot({ path: file });
  return file;
}

const connection = (page) => page.evaluate(() => document.querySelector(".sc-root").getAttribute("data-status"));

// The network goes away and comes back: what the visitor is told meanwhile, and that it recovers.
async function loseConnection(page) {
  await page.waitForFunction(() => document.querySelector(".sc-root").getAttribute("data-status") === "ready");
  offline = true;
  await page.context().setOffline(true);
  await page.waitForFunction(() => document.querySelector(".sc-root").getAttribute("data-status") !== "ready");
  const shown = { status: await connection(page), text: await page.locator(".sc-status").textContent() };
  await page.context().setOffline(false);
  await page.waitForFunction(() => document.querySelector(".sc-root").getAttribute("data-status") === "ready");
  offline = false;
  shown.after = await connection(page);
  return shown;
}

const stored = (page) => page.evaluate(() => ({
  local: Object.fromEntries(Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)])),
  session: Object.fromEntries(Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k)])),
}));

async function french(page) {
  const s = (result.scenarios.fr = {});
  s.greeting = await openPage(page, /Bonjour/);
  s.chrome = await chrome(page);
  s.transport = await page.evaluate(() => window.SupportChat.transport());
  s.connection_lost = await loseConnection(page);
  await signIn(page, "amina");
  let n = await say(page, `je veux annuler la commande ${ORDER}`);
  s.reason_question = await waitForBot(page, /Pourquoi voulez-vous annuler/, n);
  n = await clickReply(page, "Je n'en ai plus besoin");
  s.confirm_question = await waitForBot(page, new RegExp(`annule la commande ${ORDER}`), n);
  n = await clickReply(page, "Oui");
  s.filed = await waitForBot(page, new RegExp(`demande d'annulation de la commande ${ORDER}`), n);
  const asked = (await botTexts(page)).join("\n");
  if (/adresse e-mail/.test(asked)) fail("a signed-in customer was asked for an e-mail address");
  s.user_sees_button_title = await page.locator(".sc-msg.sc-user .sc-text", { hasText: "Je n'en ai plus besoin" }).count();
  s.screenshot = await screenshot(page, "fr");

  // The conversation survives a reload: same messages, same session, same language.
  const sessionBefore = await page.evaluate(() => window.SupportChat.sessionId());
  await page.reload({ waitUntil: "load" });
  await page.locator(".sc-log").waitFor({ state: "visible" });
  await waitForBot(page, new RegExp(`demande d'annulation de la commande ${ORDER}`));
  const sessionAfter = await page.evaluate(() => window.SupportChat.sessionId());
  s.same_session = Boolean(sessionBefore) && sessionBefore === sessionAfter;
  s.session_id = sessionAfter;
  s.chrome_after_reload = await chrome(page);
  n = await say(page, "merci");
  s.after_reload = await waitForBot(page, /Avec plaisir/, n);

  // Signed in, an order is shown; after "Sign out", the same question asks for proof.
  n = await say(page, `où est ma commande ${SHIPPED} ?`);
  s.order_shown = await waitForBot(page, new RegExp(`${SHIPPED}.*expédiée`, "s"), n);
  s.order_carrier = await waitForBot(page, /Transporteur/, n);
  const before = await stored(page);
  await page.locator("#sign-out").click();
  await page.waitForFunction(() => document.getElementById("who").getAttribute("data-signed-in") === "false");
  await waitForBot(page, /Bonjour/); // the new conversation's greeting, alone on screen
  await page.waitForFunction((old) => {
    const id = window.SupportChat.sessionId();
    return id && id !== old;
  }, sessionAfter);
  const after = await stored(page);
  s.signed_out = {
    token: await page.evaluate(() => window.SupportChat.token()),
    new_session: await page.evaluate(() => window.SupportChat.sessionId()),
    old_session: sessionAfter,
    stored_before: JSON.stringify(before).length,
    stored: after,
    messages_on_screen: await page.locator(".sc-msg").count(),
    who: await page.locator("#who").textContent(),
  };
  const storedText = JSON.stringify(after);
  for (const trace of [sessionAfter, SHIPPED, ORDER, "Amina", "expédiée", before.session["support-chat-token"]]) {
    if (storedText.includes(trace)) fail(`after sign-out the browser still stores "${trace}": ${storedText}`);
  }
  n = await say(page, `où est ma commande ${SHIPPED} ?`);
  s.after_sign_out = await waitForBot(page, /adresse e-mail ou le numéro de téléphone/, n);
  if ((await botTexts(page)).slice(n).some((t) => /Cainiao|expédiée/.test(t))) {
    fail("the order was shown after sign-out");
  }

  // Bot text is text: HTML in a message is shown, never run; only http(s) links become links.
  await page.evaluate(() => {
    const state = JSON.parse(localStorage.getItem("support-chat"));
    state.messages.push({
      from: "bot",
      text: "<img src=x onerror=\"window.pwned=1\"> **gras** [aide](https://example.com/aide) [x](javascript:window.pwned=2)",
    });
    localStorage.setItem("support-chat", JSON.stringify(state));
  });
  await page.reload({ waitUntil: "load" });
  await waitForBot(page, /<img src=x/);
  s.rendering = await page.evaluate(() => {
    const last = [...document.querySelectorAll(".sc-msg.sc-bot .sc-text")].pop();
    return {
      images: last.querySelectorAll("img").length,
      strong: [...last.querySelectorAll("strong")].map((n) => n.textContent),
      links: [...last.querySelectorAll("a")].map((a) => [a.textContent, a.href, a.rel]),
      pwned: window.pwned || null,
      text: last.textContent,
    };
  });
}

async function swahili(page) {
  const s = (result.scenarios.sw = {});
  s.greeting = await openPage(page, /Habari/);
  s.chrome = await chrome(page);
  s.transport = await page.evaluate(() => window.SupportChat.transport());
  s.connection_lost = await loseConnection(page);
  await signIn(page, "wanjiku");
  s.chrome_signed_in = await chrome(page);
  const n = await say(page, "oda yangu 8170051200000006 iko wapi?");
  s.status = await waitForBot(page, /8170051200000006.*imeshatumwa/s, n);
  if (/barua pepe/.test((await botTexts(page)).slice(n).join("\n"))) fail("Wanjiku was asked for her e-mail");
  s.screenshot = await screenshot(page, "sw");
}

async function english(page) {
  const s = (result.scenarios.en = {});
  s.greeting = await openPage(page, /^Hi!/);
  s.chrome = await chrome(page);
  let n = await say(page, "where is my order 8170087700000006");
  s.asks_proof = await waitForBot(page, /e-mail address or phone number/, n); // not signed in
  n = await say(page, "oliver.smith@example.co.uk");
  s.status = await waitForBot(page, /8170087700000006.*has been shipped/s, n);
  s.tracking = await waitForBot(page, /tracking number/, n);
  n = (await botTexts(page)).length;
  await page.locator('#languages button[data-language="fr"]').click();
  s.chrome_after_french_button = await waitForChrome(page, "Écrivez votre message…");
  s.switched_to_french = await waitForBot(page, /continuons en français/, n);
  n = (await botTexts(page)).length;
  await page.locator('#languages button[data-language="en"]').click();
  s.chrome_after_english_button = await waitForChrome(page, "Type your message…");
  s.switched_back = await waitForBot(page, /continue in English/, n);
  s.screenshot = await screenshot(page, "en");
  // The visitor writes in French: the bot answers in French, and the chat's texts follow.
  n = await say(page, "merci beaucoup");
  s.french_answer = await waitForBot(page, /Avec plaisir/, n);
  s.chrome_after_french_message = await waitForChrome(page, "Écrivez votre message…");
}

// The one-line embed on another site: a floating button opens the chat, keyboard only.
async function embedded(page) {
  const s = (result.scenarios.embed = {});
  // The test serves the shop's page without a network address, so Chromium counts it as a public
  // site reaching a loopback one (the bot server here): the visitor's permission, as it would ask.
  await page.context().grantPermissions(["local-network-access"], { origin: SHOP });
  await page.goto(SHOP_PAGE, { waitUntil: "load" });
  const launcher = page.locator(".sc-launcher");
  await launcher.waitFor({ state: "visible" });
  s.launcher = await launcher.textContent();
  s.expanded_before = await launcher.getAttribute("aria-expanded");
  await launcher.focus();
  await page.keyboard.press("Enter");
  await page.locator(".sc-panel").waitFor({ state: "visible" });
  s.focused_after_open = await page.evaluate(() => document.activeElement.className);
  s.greeting = await waitForBot(page, /Bonjour/);
  s.transport = await page.evaluate(() => window.SupportChat.transport());
  await page.keyboard.type("merci");
  await page.keyboard.press("Enter");
  s.answer = await waitForBot(page, /Avec plaisir/, 1);
  await page.keyboard.press("Escape");
  await page.locator(".sc-panel").waitFor({ state: "hidden" });
  s.focused_after_close = await page.evaluate(() => document.activeElement.className);
  s.expanded_after = await launcher.getAttribute("aria-expanded");
  s.page_io = await page.evaluate(() => typeof window.io);
}

let exitCode = 0;
try {
  await withVisitor("fr-FR", embedded);
  await withVisitor("fr-FR", french);
  await withVisitor("sw-KE", swahili, { blockWebsockets: true });
  await withVisitor("en-GB", english);
} catch (error) {
  result.error = String(error && error.stack ? error.stack : error);
  exitCode = 1;
}
writeFileSync(process.env.RESULT_FILE, JSON.stringify(result, null, 2));
if (exitCode) console.error(result.error);
process.exit(exitCode);
