// The shop in a real browser: Debian's Chromium driven by playwright-core against a
// running Backroom with a fresh database and the demo catalog. Started by `cargo test`
// (tests/api/browser.rs), which passes the server's address and a staff account:
//   BACKROOM_URL, BACKROOM_STAFF_EMAIL, BACKROOM_STAFF_PASSWORD, BACKROOM_SCREENSHOTS,
//   BACKROOM_CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:http";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const BASE = process.env.BACKROOM_URL;
const STAFF_EMAIL = process.env.BACKROOM_STAFF_EMAIL;
const STAFF_PASSWORD = process.env.BACKROOM_STAFF_PASSWORD;
const SCREENSHOTS = process.env.BACKROOM_SCREENSHOTS || "target/screenshots";
const PASSWORD = "correct horse battery";
// How long live changes may take to show: generous, because the whole suite runs beside
// this test on two cores (seen: a stream opening after more than 10 s under that load).
const LIVE = { timeout: 20_000 };

let browser;
const checkedPages = new Set();

before(async () => {
  assert.ok(BASE, "BACKROOM_URL must name the server under test");
  mkdirSync(SCREENSHOTS, { recursive: true });
  // launch() starts Chromium with a new, empty temporary profile (user-data dir) each time.
  browser = await chromium.launch({
    executablePath: process.env.BACKROOM_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
});

// A browser context (its own cookies) whose pages fail the test on a script error or a
// Content Security Policy violation.
async function visitor(options = {}) {
  const context = await browser.newContext({ baseURL: BASE, ...options });
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

function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], `the page reported problems at ${page.url()}`);
}

// axe-core on the page as it is now: no serious or critical violations. The script is
// evaluated through the DevTools protocol, so the page's strict CSP stays on.
async function checkAccessibility(page, name) {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const described = serious.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target).join(", ")}`);
  assert.deepEqual(described, [], `accessibility violations on ${name}`);
  checkedPages.add(name);
  assertNoProblems(page);
}

async function screenshot(page, name) {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

async function registerCustomer(page, email) {
  await page.goto("/register");
  await checkAccessibility(page, "register");
  await page.getByLabel("Name (optional)").fill("Ada Lovelace");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL("**/account");
  await checkAccessibility(page, "account");
}

// Signs in as staff; `prepare` runs on the page first (to route its requests, say).
async function staffDashboard(prepare = async () => {}) {
  const page = await visitor({ viewport: { width: 1280, height: 900 } });
  await prepare(page);
  await page.goto("/admin");
  await checkAccessibility(page, "staff sign-in");
  await page.getByLabel("Email").fill(STAFF_EMAIL);
  await page.getByLabel("Password").fill(STAFF_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Today" }).waitFor();
  return page;
}

// Opens the first product that is in stock, picks its first variant and adds `quantity`.
async function addFirstProductToCart(page, quantity = 1) {
  await page.goto("/");
  const card = page.locator(".product-card", { hasNot: page.getByText("Sold out") }).first();
  const title = (await card.locator(".product-title").textContent()).trim();
  await card.getByRole("link").click();
  await page.getByRole("heading", { level: 1, name: title }).waitFor();
  await page.getByLabel("Quantity").fill(String(quantity));
  await page.getByRole("button", { name: "Add to cart" }).click();
  await page.getByText(/Added\. Your cart holds/).waitFor();
  return title;
}

async function fillAddress(page) {
  await page.getByLabel("Full name").fill("Ada Lovelace");
  await page.getByLabel("Street and number").fill("12 Analytical Row");
  await page.getByLabel("Postal code").fill("10115");
  await page.getByLabel("City").fill("Berlin");
  await page.getByLabel("Country").selectOption("DE");
}

test("a customer buys a product; staff see it arrive live and fulfil it; the customer's page follows", async () => {
  const staff = await staffDashboard();
  await checkAccessibility(staff, "dashboard");

  const customer = await visitor({ viewport: { width: 1280, height: 900 } });
  await registerCustomer(customer, `ada-${Date.now()}@example.com`);

  await customer.goto("/");
  await checkAccessibility(customer, "storefront");
  await screenshot(customer, "storefront");
  const title = await addFirstProductToCart(customer, 2);
  await checkAccessibility(customer, "product");
  await screenshot(customer, "product");

  await customer.goto("/cart");
  await customer.locator(".line-title", { hasText: title }).waitFor();
  // Change the quantity from 2 to 1 before paying.
  await customer.getByLabel(new RegExp(`^Quantity of ${title}`)).fill("1");
  // The update reloads the page: wait for that reload, not for the value typed above.
  const reloaded = customer.waitForEvent("framenavigated", (frame) => frame === customer.mainFrame());
  await customer.getByRole("button", { name: "Update" }).click();
  await reloaded;
  await customer.waitForLoadState("load");
  await assert.doesNotReject(
    customer.waitForFunction(() => document.querySelector("input[name=quantity]")?.value === "1", null, LIVE),
  );
  await fillAddress(customer);
  await customer.getByLabel("Test card").selectOption("tok_visa");
  await checkAccessibility(customer, "cart and checkout");
  await screenshot(customer, "checkout");
  await customer.getByRole("button", { name: /^Pay / }).click();

  await customer.waitForURL(/\/orders\/ord_/);
  const heading = (await customer.getByRole("heading", { level: 1 }).textContent()).trim();
  const number = heading.replace("Order ", "");
  await customer.getByText("Paid, being prepared").waitFor();
  await customer.getByText("Live: changes appear here as they happen.").waitFor(LIVE).catch(async (error) => {
    // What the page says instead tells a stream refused ("Reconnecting…") from one never answered.
    const note = await customer.locator("[data-live-note]").textContent().catch(() => "(no note)");
    throw new Error(`the order page's live stream did not open; its note says "${note.trim()}"`, { cause: error });
  });
  await checkAccessibility(customer, "order");

  // The dashboard, opened before the order existed, shows it without a reload.
  await staff.locator("#recent-orders").getByRole("link", { name: number }).waitFor(LIVE);
  await screenshot(staff, "dashboard");
  await staff.locator("#recent-orders").getByRole("link", { name: number }).click();
  await staff.getByRole("heading", { name: `Order ${number}` }).waitFor();
  await checkAccessibility(staff, "staff order");
  await staff.getByLabel("Tracking number (optional)").fill("TRACK-4242");
  await staff.getByRole("button", { name: "Mark as shipped" }).click();
  await staff.getByText("TRACK-4242").waitFor(LIVE);

  // The customer's order page was not reloaded: the live stream brought the change.
  await customer.getByText("Shipped").waitFor(LIVE);
  await customer.getByText("TRACK-4242").waitFor(LIVE);
  await screenshot(customer, "order");

  await customer.goto("/account");
  await customer.getByRole("link", { name: number }).waitFor();
  assertNoProblems(customer);
  assertNoProblems(staff);
});

test("a live page whose stream was answered with an error opens it again", async () => {
  // An error answer (the server busy, restarting, or this address at its share of
  // streams) ends an EventSource for good; the page must not stay frozen after one.
  let refused = 0;
  const page = await staffDashboard((page) =>
    page.route("**/v1/admin/events", (route) => {
      if (refused > 0) return route.continue();
      refused += 1;
      return route.fulfill({
        status: 503,
        contentType: "application/problem+json",
        body: JSON.stringify({ title: "Service unavailable", status: 503 }),
      });
    }),
  );
  await page.getByText("Live: changes appear here as they happen.").waitFor(LIVE);
  assert.equal(refused, 1, "the first stream was refused");
  assertNoProblems(page);
});

test("pages work on a phone, in dark mode, and from the keyboard", async () => {
  const phone = await visitor({ viewport: { width: 390, height: 844 }, colorScheme: "dark" });
  for (const path of ["/", "/cart", "/login"]) {
    await phone.goto(path);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${path} scrolls sideways on a phone by ${overflow}px`);
  }
  await phone.goto("/");
  await checkAccessibility(phone, "storefront (dark, phone)");
  await screenshot(phone, "storefront-dark-phone");
  await phone.keyboard.press("Tab");
  assert.equal(await phone.evaluate(() => document.activeElement.textContent), "Skip to content");
  await phone.keyboard.press("Enter");
  assert.equal(await phone.evaluate(() => document.activeElement.id), "main");
});

test("a declined card shows the decline next to the card and leaves the cart as it was", async () => {
  const guest = await visitor();
  const title = await addFirstProductToCart(guest);
  await guest.goto("/cart");
  await guest.getByLabel("Email").fill(`guest-${Date.now()}@example.com`);
  await fillAddress(guest);
  await guest.getByLabel("Test card").selectOption("tok_chargeDeclinedInsufficientFunds");
  await guest.getByRole("button", { name: /^Pay / }).click();

  const cardError = guest.locator("#card-error");
  await cardError.getByText(/declined: insufficient funds/).waitFor(LIVE);
  assert.equal(await guest.getByLabel("Test card").getAttribute("aria-invalid"), "true");
  await guest.getByRole("alert").filter({ hasText: "Payment declined." }).waitFor();
  await checkAccessibility(guest, "declined checkout");

  await guest.reload();
  await guest.locator(".line-title", { hasText: title }).waitFor();
  // Paying again with a good card works: the cart was left intact and open.
  await guest.getByLabel("Email").fill(`guest-${Date.now()}@example.com`);
  await fillAddress(guest);
  await guest.getByLabel("Test card").selectOption("tok_visa");
  await guest.getByRole("button", { name: /^Pay / }).click();
  await guest.waitForURL(/\/orders\/ord_.*[?&]token=/);
  await guest.getByRole("heading", { name: "Thank you, your order is placed" }).waitFor();
  await guest.getByText("Paid, being prepared").waitFor();
  assertNoProblems(guest);
});

test("form errors show next to their fields, never as raw JSON", async () => {
  const page = await visitor();
  await page.goto("/register");
  await page.getByLabel("Email").fill("not-an-email");
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.locator("#password-error").filter({ hasText: /10/ }).waitFor(LIVE);
  assert.doesNotMatch(await page.locator("main").innerText(), /"type"|problem\+json|\{/);
  await page.goto("/login");
  await checkAccessibility(page, "sign-in");
  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByLabel("Password").fill("wrong password 123");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: /./ }).waitFor(LIVE);
  assertNoProblems(page);
});

test("a customer cannot open another customer's order page", async () => {
  const owner = await visitor();
  await registerCustomer(owner, `owner-${Date.now()}@example.com`);
  await addFirstProductToCart(owner);
  await owner.goto("/cart");
  await fillAddress(owner);
  await owner.getByRole("button", { name: /^Pay / }).click();
  await owner.waitForURL(/\/orders\/ord_/);
  const orderUrl = owner.url();

  const other = await visitor();
  await registerCustomer(other, `other-${Date.now()}@example.com`);
  const response = await other.goto(orderUrl);
  assert.equal(response.status(), 404);
  await other.getByRole("heading", { name: "Not found" }).waitFor();
  assert.equal(await other.getByText("12 Analytical Row").count(), 0);
  await checkAccessibility(other, "not found");

  const stranger = await visitor();
  assert.equal((await stranger.goto(orderUrl)).status(), 404);
});

test("staff manage products, stock and customers from the dashboard", async () => {
  const staff = await staffDashboard();
  await staff.getByRole("link", { name: "Products", exact: true }).click();
  await staff.getByRole("heading", { name: "Products" }).waitFor();
  await checkAccessibility(staff, "products");
  await staff.getByRole("link", { name: "New product" }).click();
  await checkAccessibility(staff, "new product");
  const stamp = Date.now();
  const sku = `LAMP-${stamp}`;
  const title = `Brass desk lamp ${stamp}`;
  // Every mistake is reported at once: the empty title and SKU with the bad price.
  await staff.getByLabel("Price in EUR").fill("not money");
  await staff.getByRole("button", { name: "Create product" }).click();
  await staff.getByText("Enter an amount such as 12.50.").waitFor();
  assert.equal(await staff.getByText("Fill this in.").count(), 2, "the title and the SKU");
  await staff.getByLabel("Title", { exact: true }).fill(title);
  await staff.getByLabel("Status").selectOption("published");
  await staff.getByLabel("SKU").fill(sku);
  await staff.getByLabel("Price in EUR").fill("49.90");
  await staff.getByLabel("Price in USD (optional)").fill("54");
  await staff.getByLabel("Stock on hand").fill("3");
  await staff.getByRole("button", { name: "Create product" }).click();
  await staff.getByRole("heading", { level: 1, name: title }).waitFor(LIVE);
  await staff.getByText("3 available").waitFor();
  assert.equal(await staff.getByLabel("Price in USD of Default").inputValue(), "54.00");
  await checkAccessibility(staff, "edit product");

  await staff.getByLabel("Change stock by").fill("-5");
  await staff.getByLabel("Reason").fill("count");
  await staff.getByRole("button", { name: "Adjust stock" }).click();
  // The refusal sits at the field it is about, in the stock room's words.
  await staff.locator(".variant-row .field-error").filter({ hasText: "only 3 on hand: you can remove up to 3" }).waitFor(LIVE);
  await staff.getByLabel("Change stock by").fill("7");
  await staff.getByRole("button", { name: "Adjust stock" }).click();
  await staff.getByText("10 available").waitFor(LIVE);

  await staff.getByLabel("Price in EUR of Default").fill("44.50");
  await staff.getByRole("button", { name: "Save variant" }).click();
  await staff.locator(".variant-summary").getByText("€44.50").waitFor(LIVE);

  await staff.getByLabel("Title", { exact: true }).fill(`${title}, large`);
  await staff.getByRole("button", { name: "Save changes" }).click();
  await staff.getByRole("heading", { level: 1, name: `${title}, large` }).waitFor(LIVE);

  const shopper = await visitor();
  await shopper.goto(`/?q=${stamp}`);
  await shopper.getByRole("link", { name: new RegExp(`${title}, large`) }).click();
  await shopper.getByText("10 in stock").waitFor();
  await shopper.getByText("€44.50").waitFor();
  // The product page follows the stock live: staff take three away, the shopper sees it.
  await staff.getByLabel("Change stock by").fill("-3");
  await staff.getByLabel("Reason").fill("damaged");
  await staff.getByRole("button", { name: "Adjust stock" }).click();
  await staff.getByText("7 available").waitFor(LIVE);
  await shopper.getByText("7 in stock").waitFor(LIVE);

  await staff.getByRole("link", { name: "Customers" }).click();
  await staff.getByLabel("Find a customer by email or name").fill("ada-");
  await staff.getByRole("button", { name: "Find" }).click();
  await staff.getByRole("link", { name: /^ada-/ }).first().click();
  await staff.getByRole("heading", { level: 2, name: /^ada-/ }).waitFor();
  await checkAccessibility(staff, "customers");
  assertNoProblems(staff);
});

// A guest buys with shipping and tax: the cart shows both before paying, and the order
// charges and shows exactly that. Runs in an Austrian zone the other tests never ship to.
async function buyWithShippingAndTax(taxLabel) {
  const guest = await visitor();
  await addFirstProductToCart(guest);
  await guest.goto("/cart");
  await guest.getByLabel("Email").fill(`taxed-${Date.now()}@example.com`);
  await fillAddress(guest);
  await guest.getByLabel("Country").selectOption("AT");
  await guest.getByText("No shipping option reaches this address yet").waitFor();
  await guest.getByRole("button", { name: "Recalculate totals" }).click();
  // The address is on the cart: its tax shows, and the option that reaches Austria.
  await guest.getByRole("rowheader", { name: taxLabel }).waitFor(LIVE);
  const option = guest.getByRole("radio", { name: /Post Austria: €5\.00/ });
  assert.equal(await option.isChecked(), false, "no option is chosen for the customer");
  await option.check();
  await guest.getByRole("rowheader", { name: "Shipping: Post Austria" }).waitFor(LIVE);
  assert.equal(await guest.getByRole("radio", { name: /Post Austria/ }).isChecked(), true);
  await guest.getByRole("rowheader", { name: taxLabel }).waitFor();
  assert.equal(await guest.getByLabel("Country").inputValue(), "AT", "the form keeps the address");
  await checkAccessibility(guest, "checkout with shipping and tax");
  const total = (await guest.locator("[data-cart-total]").textContent()).trim();
  assert.equal((await guest.getByRole("button", { name: /^Pay / }).textContent()).trim(), `Pay ${total}`);
  await guest.getByRole("button", { name: /^Pay / }).click();
  await guest.waitForURL(/\/orders\/ord_.*[?&]token=/);
  await guest.getByRole("rowheader", { name: "Shipping: Post Austria" }).waitFor();
  await guest.getByRole("rowheader", { name: taxLabel }).waitFor();
  assert.equal((await guest.locator(".lines .total").textContent()).trim(), total, "the order charged what the cart showed");
  assertNoProblems(guest);
}

// Submits one of the shipping page's forms and waits for the page to show its result.
async function submitAndReload(page, button) {
  const reloaded = page.waitForEvent("framenavigated", (frame) => frame === page.mainFrame());
  await page.getByRole("button", { name: button }).click();
  await reloaded;
  await page.waitForLoadState("load");
}

test("staff set up shipping and tax; a purchase in a shop whose prices exclude tax, then include it", async () => {
  const staff = await staffDashboard();
  await staff.getByRole("link", { name: "Shipping and tax" }).click();
  await staff.getByRole("heading", { level: 1, name: "Shipping and tax" }).waitFor();
  await staff.getByText("No tax rates: no tax is charged.").waitFor();
  // A bad rate is refused next to its field.
  await staff.getByLabel("Name", { exact: true }).nth(2).fill("USt 20 %");
  await staff.getByLabel(/^Rate in percent/).fill("200");
  await staff.getByLabel("Country (ISO code)").fill("AT");
  await staff.getByRole("button", { name: "Add the rate" }).click();
  // In the field's unit: percent.
  await staff.locator("#rate-bps-error").filter({ hasText: /between 0 % and 100 %/ }).waitFor(LIVE);
  await staff.getByLabel(/^Rate in percent/).fill("20");
  await submitAndReload(staff, "Add the rate");
  await staff.getByRole("cell", { name: "20.00 %" }).waitFor();

  await staff.getByLabel("Name", { exact: true }).nth(1).fill("Post Austria");
  await staff.getByLabel(/^Countries/).fill("AT");
  await staff.getByLabel("Amount", { exact: true }).fill("5.00");
  await submitAndReload(staff, "Add the option");
  await staff.getByRole("cell", { name: "Post Austria", exact: true }).waitFor();
  await checkAccessibility(staff, "shipping and tax");

  await buyWithShippingAndTax("USt 20 %");
  await staff.getByLabel("Prices include tax").check();
  await submitAndReload(staff, "Save the shop");
  assert.equal(await staff.getByLabel("Prices include tax").isChecked(), true);
  await buyWithShippingAndTax("Includes USt 20 %");
  await staff.getByLabel("Prices include tax").uncheck();
  await submitAndReload(staff, "Save the shop");

  // Both are edited in place: the option priced by weight (a bad tier refused on its
  // line), the rate lowered.
  await staff.locator("summary", { hasText: "Post Austria" }).click();
  const option = staff.locator("details[open] form");
  await option.getByLabel("Price", { exact: true }).selectOption("weight");
  await option.getByLabel(/^Weight tiers/).fill("1000: 6\n20000: lots");
  await option.getByRole("button", { name: "Save" }).click();
  await option.getByText(/one tier per line/).waitFor(LIVE);
  await option.getByLabel(/^Weight tiers/).fill("1000: 6\n500: 12");
  await option.getByRole("button", { name: "Save" }).click();
  await option.locator("#" + (await option.getByLabel(/^Weight tiers/).getAttribute("id")) + "-error")
    .filter({ hasText: /^Line 2: / }).waitFor(LIVE);
  await option.getByLabel(/^Weight tiers/).fill("1000: 6\n20000: 12");
  await submitAndReload(staff, "Save Post Austria");
  await staff.getByRole("cell", { name: "€6.00 up to 1000 g; €12.00 up to 20000 g" }).waitFor();
  await staff.locator("summary", { hasText: "USt 20 %" }).click();
  await staff.locator("details[open]").getByLabel(/^Rate in percent/).fill("10");
  await submitAndReload(staff, "Save USt 20 %");
  await staff.getByRole("cell", { name: "10.00 %" }).waitFor();
  await checkAccessibility(staff, "shipping and tax, editing");
  assertNoProblems(staff);
});

// The demo's products have pictures; staff add one, describe it, move it first and
// remove it again in the editor, and the storefront shows what they did.
test("staff upload, describe, reorder and remove a product's images; the shop shows them", async () => {
  const shopper = await visitor();
  await shopper.goto("/");
  const card = shopper.locator(".product-card img").first();
  assert.match(await card.getAttribute("srcset"), /\?w=320 320w/);
  await card.scrollIntoViewIfNeeded();
  await shopper.waitForFunction(() => {
    const img = document.querySelector(".product-card img");
    return img.complete && img.naturalWidth > 0;
  }, null, LIVE);

  const staff = await staffDashboard();
  await staff.goto("/admin/products?q=Olivewood");
  await staff.getByRole("link", { name: "Olivewood Serving Board" }).click();
  assert.equal(await staff.getByLabel("Alt text of image 1").inputValue(), "Olivewood Serving Board");
  const demoPicture = await staff.locator(".image-row img").first().getAttribute("src");
  // The picture at its own size (the editor shows a small copy).
  const bytes = Buffer.from(await (await fetch(new URL(demoPicture.split("?")[0], BASE))).arrayBuffer());
  await staff.getByLabel(/^Add images/).setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a picture") });
  await staff.getByRole("button", { name: "Upload images" }).click();
  await staff.locator("#image-files-error").filter({ hasText: /notes\.txt: .*not a JPEG, PNG or WebP/ }).waitFor(LIVE);
  await staff.getByLabel(/^Add images/).setInputFiles({ name: "close-up.jpg", mimeType: "image/jpeg", buffer: bytes });
  await staff.getByLabel(/^Alt text \(what/).fill("The board, close up");
  await submitAndReload(staff, "Upload images");
  assert.equal(await staff.getByLabel("Alt text of image 2").inputValue(), "The board, close up");
  await submitAndReload(staff, "Move image 2 earlier");
  assert.equal(await staff.getByLabel("Alt text of image 1").inputValue(), "The board, close up");
  await checkAccessibility(staff, "product images");

  await shopper.goto("/products/olivewood-serving-board");
  const main = shopper.locator(".gallery img").first();
  assert.equal(await main.getAttribute("alt"), "The board, close up");
  assert.match(await main.getAttribute("srcset"), /\?w=160 160w/);
  await shopper.waitForFunction(() => document.querySelector(".gallery img").naturalWidth > 0, null, LIVE);
  assert.equal(await shopper.locator(".gallery img").count(), 2);
  await checkAccessibility(shopper, "product with images");
  // Its line in the cart shows its picture too.
  await shopper.getByRole("button", { name: "Add to cart" }).click();
  await shopper.getByText(/Added\. Your cart holds/).waitFor(LIVE);
  await shopper.goto("/cart");
  await shopper.waitForFunction(() => {
    const img = document.querySelector(".lines img.line-thumb");
    return img && img.complete && img.naturalWidth > 0;
  }, null, LIVE);

  staff.once("dialog", (dialog) => dialog.accept());
  await submitAndReload(staff, "Remove image 1");
  assert.equal(await staff.getByLabel("Alt text of image 1").inputValue(), "Olivewood Serving Board");
  assert.equal(await staff.locator(".image-row").count(), 1);
  assertNoProblems(staff);
  assertNoProblems(shopper);
});

// Staff import a Shopify CSV in the dashboard and read its report, then export the
// catalog with the imported product in it.
test("staff import a Shopify CSV with a bad row and export the catalog", async () => {
  const staff = await staffDashboard();
  await staff.goto("/admin/products");
  await staff.getByRole("heading", { level: 1, name: "Products" }).waitFor();
  const csv = [
    "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price,Variant Inventory Qty,Status",
    "browser-kettle,Browser Kettle,Title,Default Title,BR-KETTLE,49.00,3,active",
    "browser-broken,Browser Broken,Title,Default Title,BR-BROKEN,lots,3,active",
  ].join("\n");
  await staff.getByLabel("Shopify product CSV to import").setInputFiles({ name: "shopify.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await staff.getByRole("button", { name: "Import products" }).click();
  await staff.getByText("1 products created, 0 updated, 1 rows refused (they changed nothing):").waitFor(LIVE);
  await staff.getByText(/^Row 3: Variant Price "lots"/).waitFor();
  await checkAccessibility(staff, "catalog import report");
  const exported = await staff.request.get("/v1/admin/products/export?format=csv");
  assert.equal(exported.status(), 200);
  const text = await exported.text();
  assert.match(text, /^Handle,Title,/);
  assert.match(text, /browser-kettle,Browser Kettle,/);
  assert.doesNotMatch(text, /browser-broken/);
  assertNoProblems(staff);
});

// The demo sells in euros and dollars: a shopper's switch takes the pages and the cart to
// dollars and back, and a dollar price staff set is what the shopper sees.
test("staff price a variant in dollars; a shopper switches currency and the cart follows", async () => {
  const staff = await staffDashboard();
  await staff.goto("/admin/products?q=Enamel%20Camp%20Mug");
  await staff.getByRole("link", { name: "Enamel Camp Mug" }).click();
  await staff.getByLabel("Price in USD of White").fill("21.5");
  await Promise.all([
    staff.waitForEvent("load"),
    staff.getByRole("button", { name: "Save variant White" }).click(),
  ]);
  assert.equal(await staff.getByLabel("Price in USD of White").inputValue(), "21.50");
  await staff.getByLabel("Price in USD of Navy").fill("-2");
  await staff.getByRole("button", { name: "Save variant Navy" }).click();
  await staff.locator(".variant-row").filter({ hasText: "MUG-ENM-NVY" }).locator(".field-error").filter({ hasText: /between 0/ }).waitFor(LIVE);
  assertNoProblems(staff);

  const shopper = await visitor();
  await shopper.goto("/products/enamel-camp-mug");
  await shopper.getByText("€18.00").first().waitFor();
  await shopper.getByLabel("Prices in").selectOption("USD");
  await shopper.getByText("$21.50").waitFor(LIVE);
  await checkAccessibility(shopper, "prices in dollars");
  await shopper.getByRole("button", { name: "Add to cart" }).click();
  await shopper.getByText(/Added\. Your cart holds/).waitFor();
  await shopper.goto("/cart");
  await shopper.locator(".lines").getByText("$21.50").first().waitFor();
  await shopper.getByLabel("Prices in").selectOption("EUR");
  await shopper.locator(".lines").getByText("€18.00").first().waitFor(LIVE);
  await shopper.goto("/");
  assert.equal(await shopper.getByLabel("Prices in").inputValue(), "EUR", "the choice stays");
  assertNoProblems(shopper);
});

// Staff make a code in the dashboard; a guest enters it in the cart, sees the new total and
// pays exactly that. Runs after the shipping test, so the cart ships to Austria.
test("staff create a discount code; a customer applies it in the cart and pays the discounted total", async () => {
  const staff = await staffDashboard();
  await staff.getByRole("link", { name: "Discounts" }).click();
  await staff.getByRole("heading", { level: 1, name: "Discounts" }).waitFor();
  await staff.getByRole("textbox", { name: /^Code/ }).fill("BROWSER10");
  await staff.getByLabel(/^Percent off/).fill("200");
  await staff.getByRole("button", { name: "Add the discount" }).click();
  await staff.locator("#discount-bps-error").filter({ hasText: /between 0.01 % and 100 %/ }).waitFor(LIVE);
  await staff.getByLabel(/^Percent off/).fill("10");
  await submitAndReload(staff, "Add the discount");
  await staff.getByRole("cell", { name: "BROWSER10", exact: true }).waitFor();
  await checkAccessibility(staff, "discounts");

  const guest = await visitor();
  await addFirstProductToCart(guest);
  await guest.goto("/cart");
  await guest.getByLabel("Discount code").fill("NOPE");
  await guest.getByRole("button", { name: "Apply" }).click();
  await guest.locator("#discount-code-error").filter({ hasText: "there is no such code" }).waitFor(LIVE);
  const before = (await guest.locator("[data-cart-total]").textContent()).trim();
  await guest.getByLabel("Discount code").fill("browser10");
  await guest.getByRole("button", { name: "Apply" }).click();
  await guest.getByRole("rowheader", { name: "BROWSER10: 10 % off" }).waitFor(LIVE);
  await guest.locator(".lines .line-discount").filter({ hasText: /^−€/ }).first().waitFor();
  assert.notEqual((await guest.locator("[data-cart-total]").textContent()).trim(), before, "the total goes down");
  await checkAccessibility(guest, "cart with a discount");

  await guest.getByLabel("Email").fill(`discounted-${Date.now()}@example.com`);
  await fillAddress(guest);
  await guest.getByLabel("Country").selectOption("AT");
  await guest.getByRole("button", { name: "Recalculate totals" }).click();
  await guest.getByRole("radio", { name: /Post Austria/ }).check();
  await guest.getByRole("rowheader", { name: /^Shipping: Post Austria/ }).waitFor(LIVE);
  const total = (await guest.locator("[data-cart-total]").textContent()).trim();
  await guest.getByRole("button", { name: /^Pay / }).click();
  await guest.waitForURL(/\/orders\/ord_.*[?&]token=/);
  await guest.getByRole("rowheader", { name: "BROWSER10: 10 % off" }).waitFor();
  assert.equal((await guest.locator(".lines .total").textContent()).trim(), total, "the order charged what the cart showed");
  assertNoProblems(guest);

  // The dashboard counts the use and links the order.
  await staff.reload();
  const row = staff.locator("tr", { hasText: "BROWSER10" }).first();
  await row.getByRole("link", { name: /^#\d+$/ }).click();
  await staff.getByRole("heading", { level: 1, name: /^Order #\d+/ }).waitFor();
  await staff.getByRole("rowheader", { name: "BROWSER10: 10 % off" }).waitFor();
  assertNoProblems(staff);
});

// Staff write a post with a live preview, publish it, restore a revision, and set the
// footer menu; the storefront shows the post and the menu.
test("staff add a webhook endpoint, see its secret once, send a test and read the delivery log", async () => {
  const received = [];
  let answered = () => {};
  const testAnswered = new Promise((resolve) => (answered = resolve));
  const receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body });
      response.writeHead(200, { "content-type": "text/plain" });
      response.end("thanks", () => {
        if (JSON.parse(body).type === "webhook.test") answered();
      });
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${receiver.address().port}/hooks/${Date.now()}`;
  try {
    const staff = await staffDashboard();
    await staff.getByRole("link", { name: "Webhooks" }).click();
    await staff.getByRole("heading", { level: 1, name: "Webhooks" }).waitFor();
    await staff.getByLabel("Address").fill("https://10.0.0.1/hooks");
    await staff.getByLabel("Every event").check();
    await staff.getByRole("button", { name: "Add the endpoint" }).click();
    await staff.locator(".field-error").filter({ hasText: /private, loopback or link-local/ }).waitFor(LIVE);
    await staff.getByLabel("Address").fill(url);
    await staff.getByRole("button", { name: "Add the endpoint" }).click();
    const secret = staff.locator("[data-secret-value]");
    await secret.filter({ hasText: /^whsec_/ }).waitFor(LIVE);
    await checkAccessibility(staff, "webhooks");
    await staff.getByRole("link", { name: "Done" }).click();
    await staff.getByRole("link", { name: url }).click();
    await staff.getByRole("heading", { level: 1, name: url }).waitFor();
    await staff.getByRole("button", { name: "Send a test event" }).click();
    // The page reloads with the delivery in its log; it goes out in the background, and
    // once the receiver has answered, the log shows it as soon as Backroom recorded that.
    await staff.locator("td").filter({ hasText: "webhook.test" }).first().waitFor(LIVE);
    await testAnswered;
    let delivered = false;
    for (let look = 0; look < 50 && !delivered; look++) {
      await staff.reload();
      delivered = (await staff.locator("td .pill").filter({ hasText: "succeeded" }).count()) > 0;
    }
    assert.ok(delivered, "the test event's delivery succeeded");
    const test = received.find((delivery) => JSON.parse(delivery.body).type === "webhook.test");
    assert.ok(test, "the receiver got the test event");
    assert.match(test.headers["webhook-signature"], /^v1,/);
    await staff.locator("summary").filter({ hasText: "Attempts" }).first().click();
    await staff.getByText(/answered 200 in \d+ ms/).waitFor();
    await staff.getByText("thanks").waitFor();
    await checkAccessibility(staff, "a webhook's deliveries");
    await staff.getByRole("checkbox", { name: /Sending/ }).uncheck();
    await staff.getByRole("button", { name: "Save", exact: true }).click();
    await staff.locator(".pill").filter({ hasText: "Paused" }).first().waitFor(LIVE);
    assertNoProblems(staff);
  } finally {
    receiver.close();
  }
});

test("staff write and publish a post with a live preview; the blog shows it", async () => {
  const staff = await staffDashboard();
  await staff.getByRole("link", { name: "Pages and blog" }).click();
  await staff.getByRole("heading", { level: 1, name: "Pages and blog" }).waitFor();
  await checkAccessibility(staff, "pages and blog");
  await staff.getByLabel("Footer menu").fill("Our story | /blog\nbroken line");
  await staff.getByRole("button", { name: "Save the footer menu" }).click();
  await staff.locator("#menu-footer-error").filter({ hasText: /one link per line/ }).waitFor(LIVE);
  await staff.getByLabel("Footer menu").fill("Our story | /blog\nEvil | javascript:alert(1)");
  await staff.getByRole("button", { name: "Save the footer menu" }).click();
  await staff.locator("#menu-footer-error").filter({ hasText: /^Line 2: / }).waitFor(LIVE);
  await staff.getByLabel("Footer menu").fill("Our story | /blog");
  await submitAndReload(staff, "Save the footer menu");

  await staff.getByRole("link", { name: "New post" }).click();
  const title = `Lanterns at dusk ${Date.now()}`;
  await staff.getByLabel("Title", { exact: true }).fill(title);
  await staff.getByLabel(/^Tags/).fill("news");
  await staff.getByLabel(/^Excerpt/).fill("Why we light them early");
  await staff.getByLabel("Text (Markdown)").fill("**Warm light** early.\n\n<script>alert(1)</script><b onclick=alert(1)>bold</b>");
  await staff.locator("#preview strong").filter({ hasText: "Warm light" }).waitFor(LIVE);
  await staff.locator("#preview b").filter({ hasText: "bold" }).waitFor();
  assert.equal(await staff.locator("#preview script, #preview [onclick]").count(), 0, "the preview is sanitised");
  await checkAccessibility(staff, "post editor");
  await staff.getByLabel("Status").selectOption("published");
  await staff.getByRole("button", { name: "Save the post" }).click();
  await staff.getByRole("heading", { level: 1, name: title }).waitFor(LIVE);
  await staff.getByLabel("Text (Markdown)").fill("**Warm light**, rewritten.");
  await submitAndReload(staff, "Save changes");
  await staff.getByRole("button", { name: /^Restore/ }).click();
  await staff.waitForLoadState("load");
  await staff.locator("#preview").filter({ hasText: "Warm light early." }).waitFor(LIVE);
  assertNoProblems(staff);

  const reader = await visitor();
  await reader.goto("/blog");
  await checkAccessibility(reader, "blog");
  await reader.getByRole("link", { name: title }).click();
  await reader.getByRole("heading", { level: 1, name: title }).waitFor();
  await reader.locator("article strong").filter({ hasText: "Warm light" }).waitFor();
  assert.equal(await reader.locator("article script, article [onclick]").count(), 0);
  await reader.getByRole("navigation", { name: "Footer" }).getByRole("link", { name: "Our story" }).waitFor();
  await checkAccessibility(reader, "blog post");
});

// The API as a script would use it, for what a test sets up rather than tries out.
async function api(method, path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(new URL(path, BASE), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

async function staffToken() {
  return (await api("POST", "/v1/auth/login", { email: STAFF_EMAIL, password: STAFF_PASSWORD })).token;
}

// A published product whose variants have the given stock; its title is as long as a
// merchant might make one.
async function productWithStock(token, stocks) {
  const stamp = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  return api(
    "POST",
    "/v1/admin/products",
    {
      title: `Handwoven merino wool travel blanket with leather carrying strap, extra large ${stamp}`,
      status: "published",
      variants: stocks.map((inventory, index) => ({
        sku: `BLANKET-${index}-${stamp}`,
        title: `Colour ${["Moss", "Slate", "Rust"][index]}`,
        price: { amount: 12900, currency: "EUR" },
        inventory,
      })),
    },
    token,
  );
}

// The shop ships to Germany in euros (the tests before may have set up other zones only).
async function shipToGermany(token) {
  const options = (await api("GET", "/v1/admin/shipping-options", undefined, token)).data;
  if (options.some((option) => option.currency === "EUR" && option.countries.includes("DE"))) return;
  await api("POST", "/v1/admin/shipping-options", { name: "DHL Paket", currency: "EUR", countries: ["DE"], rate: { type: "flat", amount: 490 } }, token);
}

// Recalculates the cart for the address filled in, and picks the first shipping option.
async function chooseShipping(page) {
  await submitAndReload(page, "Recalculate totals");
  const option = page.getByRole("radio", { name: /DHL Paket/ });
  const reloaded = page.waitForEvent("framenavigated", (frame) => frame === page.mainFrame());
  await option.check();
  await reloaded;
  await page.waitForLoadState("load");
}

// A paid guest order of one unit of `variantId`, made through the API: `{id, token}`.
async function guestOrder(variantId) {
  const cart = await api("POST", "/v1/carts", {});
  await api("POST", `/v1/carts/${cart.id}/items`, { variant_id: variantId, quantity: 1 });
  const shipping_address = { name: "Ada Lovelace", line1: "12 Analytical Row", city: "Berlin", postal_code: "10115", country: "DE" };
  await api("PATCH", `/v1/carts/${cart.id}`, { shipping_address });
  const options = (await api("GET", `/v1/carts/${cart.id}/shipping-options`)).data;
  const body = { email: `phone-${Date.now()}@example.com`, shipping_address, payment: { token: "tok_visa" } };
  if (options.length > 0) body.shipping_option_id = options[0].id;
  return api("POST", `/v1/carts/${cart.id}/checkout`, body);
}

test("a sold-out variant cannot be chosen; a short cart line says what is left; checkout names it", async () => {
  const token = await staffToken();
  await shipToGermany(token);
  const product = await productWithStock(token, [0, 1]);
  const [soldOut, lastOne] = product.variants;
  const shopper = await visitor({ viewport: { width: 1280, height: 900 } });
  await shopper.goto(`/products/${product.slug}`);
  assert.equal(await shopper.getByRole("radio", { name: /Colour Moss/ }).isDisabled(), true);
  assert.equal(await shopper.getByRole("radio", { name: /Colour Slate/ }).isChecked(), true);
  await shopper.getByRole("button", { name: "Add to cart" }).click();
  await shopper.getByText(/Added\. Your cart holds/).waitFor(LIVE);

  // Someone else buys the last unit: the cart line is marked, and checkout names it.
  await guestOrder(lastOne.id);
  await shopper.goto(`/products/${product.slug}`);
  await shopper.getByRole("button", { name: "Sold out" }).waitFor();
  assert.equal(await shopper.getByRole("button", { name: "Sold out" }).isDisabled(), true);
  await shopper.goto("/cart");
  await shopper.getByText("Sold out: remove it to check out.").waitFor();
  await shopper.getByLabel("Email").fill(`short-${Date.now()}@example.com`);
  await fillAddress(shopper);
  await chooseShipping(shopper);
  await shopper.getByRole("button", { name: /^Pay / }).click();
  await shopper.getByRole("alert").filter({ hasText: `${product.title} / Colour Slate (sold out)` }).waitFor(LIVE);
  await checkAccessibility(shopper, "cart with a sold-out line");
  assert.ok(soldOut.id);
});

test("a quantity out of range is refused inline, as every other field is", async () => {
  const page = await visitor();
  await addFirstProductToCart(page);
  await page.getByLabel("Quantity").fill("1000");
  await page.getByRole("button", { name: "Add to cart" }).click();
  await page.locator("#quantity-error").filter({ hasText: "Enter a number from 1 to 999." }).waitFor();
  await page.goto("/cart");
  const quantity = page.getByLabel(/^Quantity of /).first();
  await quantity.fill("-2");
  await page.getByRole("button", { name: "Update" }).first().click();
  await page.locator(".quantity-form .field-error").filter({ hasText: "Enter a number from 0 to 999." }).waitFor();
  assertNoProblems(page);
});

test("a forgotten password is reset from the sign-in page", async () => {
  const page = await visitor();
  await page.goto("/login");
  await page.getByRole("link", { name: "Forgot password?" }).click();
  await page.getByRole("heading", { level: 1, name: "Reset your password" }).waitFor();
  await checkAccessibility(page, "reset password");
  await page.getByLabel("Email", { exact: true }).fill(`forgetful-${Date.now()}@example.com`);
  await page.getByRole("button", { name: "Email me a token" }).click();
  await page.getByText(/If an account uses that email, a reset token is on its way/).waitFor(LIVE);
  await page.getByLabel("Token from the email").fill("not-a-token");
  await page.getByLabel("New password").fill("a new password 123");
  await page.getByRole("button", { name: "Set the new password" }).click();
  await page.getByRole("alert").filter({ hasText: /./ }).waitFor(LIVE);
  assertNoProblems(page);
  const staffPage = await visitor();
  await staffPage.goto("/admin");
  await staffPage.getByRole("link", { name: "Forgot password?" }).waitFor();
});

test("no page scrolls sideways on a phone, 360 or 390 pixels wide", async () => {
  const token = await staffToken();
  await shipToGermany(token);
  const product = await productWithStock(token, [5, 5, 0]);
  const order = await guestOrder(product.variants[0].id);
  const post = await api("POST", "/v1/admin/posts", { title: "A very long headline about wool, weaving and winter", body_markdown: "Text.", status: "published" }, token);
  const contentPage = await api("POST", "/v1/admin/pages", { title: "Care instructions for wool", body_markdown: "Wash cold.", status: "published" }, token);
  const category = (await api("GET", "/v1/categories")).data[0];
  const webhook = await api("POST", "/v1/admin/webhooks", { url: "https://203.0.113.9/a/rather/long/path/for/a/webhook/receiver", events: ["*"], description: "An accounting system with a long name" }, token);
  await api("POST", `/v1/admin/webhooks/${webhook.id}/test`, {}, token);
  const shopperPaths = [
    "/", `/products/${product.slug}`, "/cart", `/orders/${order.id}?placed=1&token=${encodeURIComponent(order.token)}`,
    "/login", "/register", "/reset-password", "/account", "/blog", `/blog/${post.slug}`, `/pages/${contentPage.slug}`,
    `/categories/${category.slug}`, "/no-such-page",
  ];
  const staffPaths = [
    "/admin", `/admin/orders/${order.id}`, "/admin/products", "/admin/products/new", `/admin/products/${product.id}`,
    "/admin/customers?q=phone", "/admin/shipping", "/admin/discounts", "/admin/content", "/admin/content/page/new",
    `/admin/content/post/${post.id}`, "/admin/webhooks", `/admin/webhooks/${webhook.id}`,
  ];
  const overflowing = [];
  // Nothing may reach past the screen's right edge: not the page (sideways scrolling), and
  // not a table inside a scrolling box either (its columns would be cut off).
  const check = async (page, path, width) => {
    await page.goto(path);
    // A phone zooms out to show a page wider than the screen, so the screen's width is
    // the one set, not what the page reports after zooming.
    const wide = await page.evaluate((screen) => {
      const names = [];
      for (const node of document.body.querySelectorAll("*")) {
        if (node.closest(".visually-hidden")) continue;
        const box = node.getBoundingClientRect();
        if (box.width > 0 && box.right > screen + 0.5) {
          names.push(`${node.tagName.toLowerCase()}${node.className ? "." + String(node.className).split(" ").join(".") : ""} to ${Math.round(box.right)}px`);
        }
      }
      return names.slice(0, 4);
    }, width);
    if (wide.length > 0) overflowing.push(`${path} at ${width}px: ${wide.join(", ")}`);
    if (["/cart", "/admin/discounts", "/admin"].includes(path)) {
      await page.screenshot({ path: join(SCREENSHOTS, `phone-${width}${path.replaceAll("/", "-")}.png`), fullPage: true });
    }
    assertNoProblems(page);
  };
  for (const width of [360, 390]) {
    const shopper = await visitor({ viewport: { width, height: 800 }, isMobile: true, hasTouch: true });
    // A cart holding the long-titled product, for /cart.
    await shopper.goto(`/products/${product.slug}`);
    await shopper.getByRole("button", { name: "Add to cart" }).click();
    await shopper.getByText(/Added\. Your cart holds/).waitFor(LIVE);
    for (const path of shopperPaths) await check(shopper, path, width);

    const staff = await visitor({ viewport: { width, height: 800 }, isMobile: true, hasTouch: true });
    await staff.goto("/admin");
    await staff.getByLabel("Email").fill(STAFF_EMAIL);
    await staff.getByLabel("Password").fill(STAFF_PASSWORD);
    await staff.getByRole("button", { name: "Sign in" }).click();
    await staff.getByRole("heading", { name: "Today" }).waitFor();
    for (const path of staffPaths) await check(staff, path, width);

    // Long titles take at most two lines of a product card.
    await shopper.goto("/?q=Handwoven");
    const lines = await shopper.evaluate(() =>
      Array.from(document.querySelectorAll(".product-title"), (title) => {
        const style = getComputedStyle(title);
        const lineHeight = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2;
        return Math.round(title.getBoundingClientRect().height / lineHeight);
      }),
    );
    assert.ok(lines.length > 0 && lines.every((count) => count <= 2), `title lines: ${lines}`);

    // The header is one row; its links are a tap on Menu away.
    for (const page of [shopper, staff]) {
      await page.goto(page === staff ? "/admin" : "/");
      const height = await page.evaluate(() => document.querySelector(".site-header").getBoundingClientRect().height);
      assert.ok(height < 70, `the header is ${height}px tall at ${width}px`);
    }
    await staff.getByRole("button", { name: "Menu" }).click();
    await staff.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Discounts" }).click();
    await staff.getByRole("heading", { level: 1, name: "Discounts" }).waitFor();
  }
  assert.deepEqual(overflowing, []);
});

test("a guest's cart follows them into their account; a saved address fills the checkout", async () => {
  const email = `returning-${Date.now()}@example.com`;
  await api("POST", "/v1/auth/register", { email, password: PASSWORD });
  const page = await visitor({ viewport: { width: 1280, height: 900 } });
  const title = await addFirstProductToCart(page);
  await page.goto("/login?next=/cart");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL("**/cart");
  await page.locator(".line-title", { hasText: title }).waitFor();

  await page.goto("/account");
  await page.getByText("Add an address").click();
  await page.getByLabel("Full name").fill("Grace Hopper");
  await page.getByLabel("Street and number").fill("1 Compiler Lane");
  await page.getByLabel("Postal code").fill("10115");
  await page.getByLabel("City").fill("Berlin");
  await submitAndReload(page, "Save the address");
  await page.locator(".saved-addresses li > span", { hasText: "Grace Hopper, 1 Compiler Lane, 10115 Berlin, Germany" }).waitFor();
  await checkAccessibility(page, "account with an address");

  await page.goto("/cart");
  await page.getByLabel("Use a saved address").selectOption({ index: 1 });
  assert.equal(await page.getByLabel("Full name").inputValue(), "Grace Hopper");
  assert.equal(await page.getByLabel("Street and number").inputValue(), "1 Compiler Lane");
  assert.equal(await page.getByLabel("Country").inputValue(), "DE");
  assertNoProblems(page);
});

test("the search box suggests products as you type; a search's results can be sorted and narrowed", async () => {
  const page = await visitor();
  await page.goto("/");
  const title = (await page.locator(".product-title").first().textContent()).trim();
  const word = title.split(/\s+/).find((part) => part.length >= 5) || title.split(/\s+/)[0];
  // A suggestion shows its product's picture (a demo product's: all have one).
  await page.getByLabel("Search products").fill("enamel");
  const mug = page.getByRole("list", { name: "Suggested products" }).getByRole("link", { name: "Enamel Camp Mug" });
  const thumb = mug.locator("img.suggestion-thumb");
  await thumb.waitFor(LIVE);
  await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await thumb.elementHandle(), LIVE);
  await page.getByLabel("Search products").fill("");
  // The start of a word, as typed: suggestions appear under the box.
  await page.getByLabel("Search products").pressSequentially(word.slice(0, 4).toLowerCase());
  const suggestions = page.getByRole("list", { name: "Suggested products" });
  await suggestions.getByRole("link").first().waitFor(LIVE);
  // A typo (two different letters swapped) still finds it.
  const at = [...word].findIndex((letter, index) => index > 0 && word[index + 1] && letter !== word[index + 1]);
  const typo = word.slice(0, at) + word[at + 1] + word[at] + word.slice(at + 2);
  assert.notEqual(typo.toLowerCase(), word.toLowerCase());
  // Emptied first, so that the suggestions shown are the typo's, not the prefix's.
  await page.getByLabel("Search products").fill("");
  await page.getByLabel("Search products").fill(typo.toLowerCase());
  const suggested = suggestions.getByRole("link", { name: title });
  await suggested.waitFor(LIVE);
  // The arrow key moves into the suggestions.
  await page.getByLabel("Search products").press("ArrowDown");
  assert.ok(await page.evaluate(() => Boolean(document.activeElement.closest("#search-suggestions"))));
  await suggested.click();
  await page.getByRole("heading", { level: 1, name: title }).waitFor();

  await page.goto(`/?q=${encodeURIComponent(word.slice(0, 3))}`);
  await page.getByRole("heading", { name: /^Results for/ }).waitFor();
  await page.getByLabel("Sort by").selectOption("price_desc");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForURL(/sort=price_desc/);
  const prices = (await page.locator(".product-card .price").allTextContents())
    .map((text) => Number(text.replace(/[^0-9.]/g, "")));
  assert.ok(prices.length > 1, "more than one result to order");
  assert.deepEqual(prices, [...prices].sort((a, b) => b - a), "highest price first");
  // Each category of the matches shows how many it holds.
  assert.ok(await page.locator(".category-list .count").count() > 0);
  await checkAccessibility(page, "search results");
});

test("every page was checked with axe", () => {
  const expected = [
    "storefront", "product", "cart and checkout", "order", "register", "account", "sign-in",
    "staff sign-in", "dashboard", "staff order", "products", "new product", "edit product", "customers",
    "checkout with shipping and tax", "shipping and tax", "shipping and tax, editing", "prices in dollars",
    "discounts", "cart with a discount", "pages and blog", "post editor", "blog", "blog post",
    "cart with a sold-out line", "reset password", "account with an address", "search results",
  ];
  assert.deepEqual(expected.filter((name) => !checkedPages.has(name)), []);
});
