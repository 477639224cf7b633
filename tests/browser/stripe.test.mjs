// Paying with Stripe in a real browser: the checkout page loads Stripe.js (here a
// stand-in served by the test suite's fake Stripe, from another origin, as js.stripe.com
// is), the card needs 3-D Secure, and the shopper lands on their order. Started by
// `cargo test` (tests/api/browser.rs) with BACKROOM_URL, BACKROOM_STRIPE_JS_ORIGIN and
// BACKROOM_CHROMIUM.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const BASE = process.env.BACKROOM_URL;
const STRIPE_JS_ORIGIN = process.env.BACKROOM_STRIPE_JS_ORIGIN;
const LIVE = { timeout: 20_000 };

let browser;

before(async () => {
  assert.ok(BASE && STRIPE_JS_ORIGIN, "BACKROOM_URL and BACKROOM_STRIPE_JS_ORIGIN must be set");
  browser = await chromium.launch({
    executablePath: process.env.BACKROOM_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
});

after(async () => {
  await browser?.close();
});

async function shopper() {
  const context = await browser.newContext({ baseURL: BASE });
  const page = await context.newPage();
  page.problems = [];
  page.on("pageerror", (error) => page.problems.push(`script error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy|Refused to/.test(message.text())) {
      page.problems.push(`console: ${message.text()}`);
    }
  });
  return page;
}

async function cartWithOneProduct(page) {
  await page.goto("/");
  const card = page.locator(".product-card", { hasNot: page.getByText("Sold out") }).first();
  await card.getByRole("link").click();
  await page.getByRole("button", { name: "Add to cart" }).click();
  await page.getByText(/Added\. Your cart holds/).waitFor();
  await page.goto("/cart");
  await page.getByLabel("Email").fill(`card-${Date.now()}@example.com`);
  await page.getByLabel("Full name").fill("Ada Lovelace");
  await page.getByLabel("Street and number").fill("12 Analytical Row");
  await page.getByLabel("Postal code").fill("10115");
  await page.getByLabel("City").fill("Berlin");
  await page.getByLabel("Country").selectOption("DE");
}

test("only the checkout lets Stripe.js in, and only from Stripe's origin", async () => {
  const page = await shopper();
  const home = await page.goto("/");
  assert.doesNotMatch(home.headers()["content-security-policy"], new RegExp(STRIPE_JS_ORIGIN));
  await cartWithOneProduct(page);
  const cart = await page.goto("/cart");
  const policy = cart.headers()["content-security-policy"];
  assert.match(policy, new RegExp(`script-src 'self' ${STRIPE_JS_ORIGIN};`));
  assert.doesNotMatch(policy, /unsafe-eval|script-src[^;]*\*/);
  assert.equal(await page.getByLabel("Test card").count(), 0, "no test cards with Stripe");
});

test("a card that asks for 3-D Secure: the challenge, then the order", async () => {
  const page = await shopper();
  await cartWithOneProduct(page);
  await page.getByLabel("Card (stand-in)").fill("pm_card_threeDSecure2Required");
  await page.getByRole("button", { name: /^Pay / }).click();
  await page.waitForURL(/\/orders\/ord_.*[?&]token=/, LIVE);
  await page.getByRole("heading", { name: "Thank you, your order is placed" }).waitFor();
  await page.getByText("Paid, being prepared").waitFor();
  assert.deepEqual(page.problems, []);
});

test("a declined card says so next to the card and leaves the cart open", async () => {
  const page = await shopper();
  await cartWithOneProduct(page);
  await page.getByLabel("Card (stand-in)").fill("pm_card_chargeDeclinedInsufficientFunds");
  await page.getByRole("button", { name: /^Pay / }).click();
  await page.locator("#card-error").getByText(/declined: insufficient funds/).waitFor(LIVE);
  await page.getByLabel("Card (stand-in)").fill("pm_card_visa");
  await page.getByRole("button", { name: /^Pay / }).click();
  await page.waitForURL(/\/orders\/ord_/, LIVE);
  assert.deepEqual(page.problems, []);
});
