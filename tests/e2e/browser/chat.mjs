// Drives the web chat in Debian's Chromium (headless) with playwright-core, as a visitor would.
//
//   node chat.mjs   (settings in the environment, set by tests/e2e/test_browser.py)
//     PLAYWRIGHT_CORE_DIR  directory of the installed playwright-core package
//     CHROMIUM             browser executable (default /usr/bin/chromium)
//     BASE_URL             the Rasa server (the page is BASE_URL/webhooks/webchat/)
//     SCREENSHOT_DIR       where webchat-<lang>.png are written
//     RESULT_FILE          JSON summary for the Python side
//
// Three visitors, one per language, each in a fresh browser profile whose locale is the
// language: French (Amina signs in and cancels an order with the buttons, then reloads the page),
// Swahili (Wanjiku signs in and asks where her order is), English (not signed in: asked to prove
// who they are; then uses the language buttons). Any failure exits non-zero with the reason.

import { createRequire } from "node:module";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { FLAGS, TIMEOUT, botTexts, fail, guard, say, waitForBot } from "./helpers.mjs";

const require = createRequire(path.join(process.env.PLAYWRIGHT_CORE_DIR, "package.json"));
const { chromium } = require("playwright-core");

const BASE = process.env.BASE_URL.replace(/\/$/, "");
const PAGE = `${BASE}/webhooks/webchat/`;
const SHOTS = process.env.SCREENSHOT_DIR;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ORDER = process.env.ORDER_TO_CANCEL || "8170034500000003"; // Amina's, awaiting shipment

const result = { page: PAGE, scenarios: {}, external_requests: [], console_errors: [] };

async function withVisitor(locale, run) {
  const profile = mkdtempSync(path.join(tmpdir(), "webchat-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    locale,
    viewport: { width: 1180, height: 760 },
    timeout: TIMEOUT,
  });
  // Nothing may leave the machine: any request to another host is recorded and aborted.
  await guard(context, BASE, result, locale);
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
  const reply = page.locator(".rw-reply", { hasText: title }).last();
  await reply.waitFor({ state: "visible" });
  await reply.click();
  return before;
}

async function signIn(page, key) {
  await page.locator(`#customers button[data-customer="${key}"]`).click();
  await page.waitForFunction(() => document.getElementById("who").textContent.startsWith("Signed in as"));
  const token = await page.evaluate(() => window.SupportChat.token());
  if (!token || token.split(".").length !== 3) fail(`no token after signing in as ${key}`);
}

async function openPage(page, greeting) {
  await page.goto(PAGE, { waitUntil: "load" });
  await page.locator(".rw-conversation-container").waitFor({ state: "visible" });
  return waitForBot(page, greeting); // initPayload: a greeting in the browser's language
}

// Waits until the bot has stopped writing: same number of messages for 1.5 s, no typing dots.
async function settle(page) {
  let last = -1;
  let stableSince = Date.now();
  const deadline = Date.now() + TIMEOUT;
  while (Date.now() < deadline) {
    const count = (await botTexts(page)).length;
    const typing = await page.locator(".rw-dot").count();
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

async function french(page) {
  const s = (result.scenarios.fr = {});
  s.greeting = await openPage(page, /Bonjour/);
  await signIn(page, "amina");
  let n = await say(page, `je veux annuler la commande ${ORDER}`);
  s.reason_question = await waitForBot(page, /Pourquoi voulez-vous annuler/, n);
  n = await clickReply(page, "Je n'en ai plus besoin");
  s.confirm_question = await waitForBot(page, new RegExp(`annule la commande ${ORDER}`), n);
  n = await clickReply(page, "Oui");
  s.filed = await waitForBot(page, new RegExp(`demande d'annulation de la commande ${ORDER}`), n);
  const asked = (await botTexts(page)).join("\n");
  if (/adresse e-mail/.test(asked)) fail("a signed-in customer was asked for an e-mail address");
  s.screenshot = await screenshot(page, "fr");

  // The conversation survives a reload: same messages, same session, same language.
  const sessionId = () =>
    page.evaluate(() => (JSON.parse(window.localStorage.getItem("chat_session") || "{}") || {}).session_id || null);
  const sessionBefore = await sessionId();
  await page.reload({ waitUntil: "load" });
  await page.locator(".rw-conversation-container").waitFor({ state: "visible" });
  await waitForBot(page, new RegExp(`demande d'annulation de la commande ${ORDER}`));
  const sessionAfter = await sessionId();
  s.same_session = Boolean(sessionBefore) && sessionBefore === sessionAfter;
  s.session_id = sessionAfter;
  n = await say(page, "merci");
  s.after_reload = await waitForBot(page, /Avec plaisir/, n);
}

async function swahili(page) {
  const s = (result.scenarios.sw = {});
  s.greeting = await openPage(page, /Habari/);
  await signIn(page, "wanjiku");
  const n = await say(page, "oda yangu 8170051200000006 iko wapi?");
  s.status = await waitForBot(page, /8170051200000006.*imeshatumwa/s, n);
  if (/barua pepe/.test((await botTexts(page)).slice(n).join("\n"))) fail("Wanjiku was asked for her e-mail");
  s.screenshot = await screenshot(page, "sw");
}

async function english(page) {
  const s = (result.scenarios.en = {});
  s.greeting = await openPage(page, /^Hi!/);
  let n = await say(page, "where is my order 8170087700000006");
  s.asks_proof = await waitForBot(page, /e-mail address or phone number/, n); // not signed in
  n = await say(page, "oliver.smith@example.co.uk");
  s.status = await waitForBot(page, /8170087700000006.*has been shipped/s, n);
  s.tracking = await waitForBot(page, /tracking number/, n);
  n = (await botTexts(page)).length;
  await page.locator('#languages button[data-language="fr"]').click();
  s.switched_to_french = await waitForBot(page, /continuons en français/, n);
  n = (await botTexts(page)).length;
  await page.locator('#languages button[data-language="en"]').click();
  s.switched_back = await waitForBot(page, /continue in English/, n);
  s.screenshot = await screenshot(page, "en");
}

let exitCode = 0;
try {
  await withVisitor("fr-FR", french);
  await withVisitor("sw-KE", swahili);
  await withVisitor("en-GB", english);
} catch (error) {
  result.error = String(error && error.stack ? error.stack : error);
  exitCode = 1;
}
writeFileSync(process.env.RESULT_FILE, JSON.stringify(result, null, 2));
if (exitCode) console.error(result.error);
process.exit(exitCode);
