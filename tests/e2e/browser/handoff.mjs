// A customer in the web chat and a support agent in the console, two browser contexts side by side
// (Debian's Chromium, headless, driven by playwright-core).
//
//   node handoff.mjs   (settings in the environment, set by tests/e2e/test_handoff_browser.py)
//     PLAYWRIGHT_CORE_DIR, CHROMIUM, BASE_URL, SCREENSHOT_DIR, RESULT_FILE as chat.mjs;
//     AGENT_PASSWORD       the agent console password of this run
//
// The customer (French, signed in as Amina) asks for a person and writes twice while waiting; the
// agent signs in, finds the ticket with its summary, reads the conversation and answers; the
// customer sees the answer and replies; the agent sees it live and hands back; the bot greets the
// customer and answers the next question in French. Any failure exits non-zero with the reason.

import { createRequire } from "node:module";
import { writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { FLAGS, TIMEOUT, botTexts, fail, guard, say, waitForBot } from "./helpers.mjs";

const require = createRequire(path.join(process.env.PLAYWRIGHT_CORE_DIR, "package.json"));
const { chromium } = require("playwright-core");

const BASE = process.env.BASE_URL.replace(/\/$/, "");
const CHAT = `${BASE}/webhooks/webchat/`;
const CONSOLE = `${BASE}/agent/`;
const SHOTS = process.env.SCREENSHOT_DIR;
const ACK = /votre message a bien été transmis à notre service client/;
const REPLY = "Bonjour Amina, je regarde votre commande 8170034500000007 tout de suite.";

const result = { external_requests: [], console_errors: [], steps: {} };

async function newContext(browser, locale, viewport) {
  const context = await browser.newContext({ locale, viewport });
  await guard(context, BASE, result, locale);
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  return { context, page };
}

async function waitForText(page, selector, pattern, what) {
  try {
    await page.waitForFunction(
      ({ selector, source }) => [...document.querySelectorAll(selector)].some((n) => new RegExp(source).test(n.innerText)),
      { selector, source: pattern.source },
      { timeout: TIMEOUT, polling: 250 },
    );
  } catch (error) {
    fail(`${what}: nothing matching ${pattern} in ${selector}`);
  }
  return page.$$eval(selector, (nodes, source) => nodes.map((n) => n.innerText).find((t) => new RegExp(source).test(t)),
    pattern.source);
}

async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name) });
}

async function run(browser) {
  const customer = await newContext(browser, "fr-FR", { width: 1180, height: 760 });
  const agent = await newContext(browser, "en-GB", { width: 1360, height: 860 });
  const c = customer.page;
  const a = agent.page;
  const s = result.steps;

  // The customer, signed in as Amina, asks for a person.
  await c.goto(CHAT, { waitUntil: "load" });
  await waitForBot(c, /Bonjour/);
  await c.locator('#customers button[data-customer="amina"]').click();
  await c.waitForFunction(() => document.getElementById("who").getAttribute("data-signed-in") === "true");
  let n = await say(c, "je veux parler à un conseiller");
  s.handoff = await waitForBot(c, /J'ai ouvert le ticket T-\d{6}/, n);
  result.ticket = s.handoff.match(/T-\d{6}/)[0];
  result.session_id = await c.evaluate(() => window.SupportChat.sessionId());
  n = await say(c, "allô, vous êtes là ?");
  s.ack = await waitForBot(c, ACK, n);
  await say(c, "c'est pour la commande 8170034500000007 qui n'arrive pas");

  // The agent signs in and finds the ticket in the queue, with its English summary.
  await a.goto(CONSOLE, { waitUntil: "load" });
  await a.locator("#name").fill("Sam");
  await a.locator("#password").fill(process.env.AGENT_PASSWORD);
  await a.locator("#sign-in button[type=submit]").click();
  const row = a.locator(`#tickets li[data-ticket="${result.ticket}"]`);
  await row.waitFor({ state: "visible" });
  s.queue_row = await row.innerText();
  await shot(a, "console-queue.png");
  await row.click();
  await waitForText(a, "#ticket-title", new RegExp(result.ticket), "ticket title");
  s.customer_message_seen = await waitForText(a, "#messages li.customer", /qui n'arrive pas/, "customer message");
  s.facts = await a.locator("#facts").innerText();

  // The agent answers; the customer sees it in the chat.
  await a.locator("#reply-text").fill(REPLY);
  await a.locator("#reply button[type=submit]").click();
  s.sent = await waitForText(a, "#reply-status", /Sent on socketio/, "reply status");
  s.reply_seen = await waitForBot(c, /Sam \(service client\) : Bonjour Amina/);

  // The customer answers; the agent sees it without reloading.
  await say(c, "merci, j'attends votre retour");
  s.answer_seen = await waitForText(a, "#messages li.customer", /j'attends votre retour/, "customer answer");
  await shot(a, "console-ticket.png");

  // Hand back: the bot greets the customer, then answers in French again.
  await a.locator("#hand-back").click();
  s.handed_back = await waitForText(a, "#reply-status", /Handed back/, "hand back status");
  s.greeting = await waitForBot(c, /Me revoilà/);
  n = await say(c, "où est ma commande 8170034500000006 ?");
  s.bot_again = await waitForBot(c, /8170034500000006.*a été expédiée/s, n);
  s.acks = (await botTexts(c)).filter((t) => ACK.test(t)).length;
  await c.waitForFunction(() => document.querySelector(".sc-typing").hidden, null, { timeout: TIMEOUT, polling: 250 });
  await shot(c, "handoff-webchat-fr.png");

  await customer.context.close();
  await agent.context.close();
}

let exitCode = 0;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true,
  args: FLAGS, timeout: TIMEOUT });
try {
  await run(browser);
} catch (error) {
  result.error = String(error && error.stack ? error.stack : error);
  exitCode = 1;
} finally {
  await browser.close();
}
writeFileSync(process.env.RESULT_FILE, JSON.stringify(result, null, 2));
if (exitCode) console.error(result.error);
process.exit(exitCode);
