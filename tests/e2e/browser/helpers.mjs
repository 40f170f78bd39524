// Used by chat.mjs and handoff.mjs: the browser flags, the "nothing leaves the machine" guard and the web chat
// helpers (the widget's DOM, bot/web/static/widget.js: bot messages, the message box).

export const TIMEOUT = 60_000;
export const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

export function fail(message) {
  throw new Error(message);
}

// Any request to another host than the bot server is recorded and aborted; console errors are
// recorded (but the widget's web font, which the page's CSP blocks on purpose).
export async function guard(context, base, result, label) {
  const origin = new URL(base).origin;
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith("data:") || url.startsWith("blob:")) return route.continue();
    result.external_requests.push(url);
    return route.abort();
  });
  context.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().includes("fonts.googleapis.com")) {
      result.console_errors.push(`${label}: ${msg.text()}`.slice(0, 300));
    }
  });
}

export const BOT = ".sc-msg.sc-bot .sc-text";

export async function botTexts(page) {
  return page.$$eval(BOT, (nodes) => nodes.map((n) => n.innerText.trim()).filter(Boolean));
}

// Waits for a bot message matching `pattern` among the messages after the first `after` ones.
export async function waitForBot(page, pattern, after = 0) {
  const source = pattern.source;
  const flags = pattern.flags;
  try {
    await page.waitForFunction(
      ({ source, flags, after, selector }) => {
        const re = new RegExp(source, flags);
        const texts = [...document.querySelectorAll(selector)].map((n) => n.innerText);
        return texts.slice(after).some((t) => re.test(t));
      },
      { source, flags, after, selector: BOT },
      { timeout: TIMEOUT, polling: 250 },
    );
  } catch (error) {
    fail(`no bot message matching ${pattern} (after ${after}); bot said:\n${(await botTexts(page)).join("\n---\n")}`);
  }
  const texts = await botTexts(page);
  return texts.slice(after).find((t) => pattern.test(t));
}

export async function say(page, text) {
  const before = (await botTexts(page)).length;
  const input = page.getByRole("textbox");
  await input.fill(text);
  await input.press("Enter");
  return before;
}
