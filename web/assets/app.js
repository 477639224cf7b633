// Backroom's pages: a little JavaScript on top of server-rendered HTML.
//
// Every write goes through the JSON API (/v1/...), with the session cookie, the CSRF
// token from the `backroom_csrf` cookie, and a fresh Idempotency-Key for each POST.
// Errors come back as problem+json and are shown next to the field they name.
"use strict";

const CART_COOKIE = "backroom_cart";

function readCookie(name) {
  const pair = document.cookie.split("; ").find((entry) => entry.startsWith(name + "="));
  return pair ? decodeURIComponent(pair.slice(name.length + 1)) : null;
}

function writeCookie(name, value, maxAgeSeconds) {
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `${name}=${encodeURIComponent(value)}; Path=/; Max-Age=${maxAgeSeconds}; SameSite=Lax${secure}`;
}

function randomKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `The request failed (${status}).`);
    this.status = status;
    this.problem = problem;
  }
}

// A FormData body goes as multipart/form-data (the browser writes its Content-Type).
async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const isForm = body instanceof FormData;
  if (body !== undefined && !isForm) headers["Content-Type"] = "application/json";
  const csrf = readCookie("backroom_csrf");
  if (csrf) headers["X-CSRF-Token"] = csrf;
  if (method === "POST") headers["Idempotency-Key"] = randomKey();
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined || isForm ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiProblem(0, { detail: "The shop could not be reached. Check your connection and try again." });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: `The request failed (${response.status}).` };
  }
  if (!response.ok) throw new ApiProblem(response.status, data || {});
  return data;
}

// "12.50" -> 1250 for a currency with 2 decimals, without floating point; null when it
// is not an amount.
function minorUnits(text, decimals) {
  const fraction = decimals > 0 ? `(?:[.,](\\d{1,${decimals}}))?` : "";
  const match = new RegExp(`^\\s*(-?)(\\d+)${fraction}\\s*$`).exec(text);
  if (!match) return null;
  const scale = 10 ** decimals;
  const minor = decimals > 0 ? Number((match[3] || "").padEnd(decimals, "0")) : 0;
  return (match[1] ? -1 : 1) * (Number(match[2]) * scale + minor);
}

function setPath(target, path, value) {
  const keys = path.split(".");
  let node = target;
  keys.forEach((key, index) => {
    const last = index === keys.length - 1;
    const slot = /^\d+$/.test(key) ? Number(key) : key;
    if (last) {
      node[slot] = value;
    } else {
      if (node[slot] === undefined) node[slot] = /^\d+$/.test(keys[index + 1]) ? [] : {};
      node = node[slot];
    }
  });
}

function getPath(target, path) {
  return path.split(".").reduce((node, key) => (node === undefined ? undefined : node[key]), target);
}

// Digits after the decimal point of an amount field: its own `data-decimals`, or those of
// the option chosen in the field its `data-decimals-from` names (a currency picker).
function decimalsOf(form, field) {
  const from = field.dataset.decimalsFrom && form.elements[field.dataset.decimalsFrom];
  const source = from && from.selectedOptions ? from.selectedOptions[0] : field;
  return Number((source && source.dataset.decimals) ?? 2);
}

// "1000: 4.90" lines as weight tiers `[{up_to_grams, amount}]`; null when a line is not so.
function weightTiers(text, decimals) {
  const tiers = [];
  for (const line of text.split("\n").map((l) => l.trim()).filter((l) => l !== "")) {
    const match = /^(\d+)\s*(?:g)?\s*[:=]\s*(.+)$/.exec(line);
    const amount = match && minorUnits(match[2], decimals);
    if (amount === null || amount === undefined) return null;
    tiers.push({ up_to_grams: Number(match[1]), amount });
  }
  return tiers;
}

// "Label | /url" lines as menu items `[{label, url}]`; null when a line is not so.
function menuLinks(text) {
  const items = [];
  for (const line of text.split("\n").map((l) => l.trim()).filter((l) => l !== "")) {
    const bar = line.lastIndexOf("|");
    if (bar < 0) return null;
    items.push({ label: line.slice(0, bar).trim(), url: line.slice(bar + 1).trim() });
  }
  return items;
}

// The editor's live preview: the Markdown as the shop will show it, rendered and sanitised
// by the server a moment after the typing stops.
function followPreview(textarea) {
  const pane = document.getElementById(textarea.dataset.preview);
  let pending = null;
  textarea.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(async () => {
      try {
        const preview = await api("POST", "/v1/admin/content/preview", { body_markdown: textarea.value });
        pane.innerHTML = preview.body_html;
      } catch {
        // The preview stays as it was; saving still tells what is wrong.
      }
    }, 300);
  });
}

// A field shown only while another field has a value: `data-when="NAME=VALUE"`.
function applies(form, node) {
  if (!node || !node.dataset.when) return true;
  const [name, value] = node.dataset.when.split("=");
  return !form.elements[name] || form.elements[name].value === value;
}

// The form's fields as the JSON body the API expects: dotted names nest, `data-type`
// converts, optional fields left empty are left out (`data-null`: sent as null, which
// clears them). Fields under a `data-when` that does not hold are left out. Bad numbers
// become field errors.
// `data-type="price"` fields named `LIST.CODE` gather into LIST as `{amount, currency}`,
// the empty ones left out (not sold in CODE); each remembers its place in LIST
// (`data-sent-as`) so that the API's errors find it.
function formBody(form) {
  const body = {};
  const errors = {};
  for (const field of form.elements) {
    if (!field.name || field.disabled || field.type === "submit" || field.type === "button") continue;
    if (!applies(form, field.closest("[data-when]"))) {
      // A field that does not apply is cleared where clearing is how it goes away.
      if (field.hasAttribute("data-null")) setPath(body, field.name, null);
      continue;
    }
    const type = field.dataset.type;
    if (type === "price") {
      const listPath = field.name.slice(0, field.name.lastIndexOf("."));
      if (getPath(body, listPath) === undefined) setPath(body, listPath, []);
      delete field.dataset.sentAs;
      const raw = field.value.trim();
      if (raw === "") continue;
      const amount = minorUnits(raw, decimalsOf(form, field));
      if (amount === null) {
        errors[field.name] = "Enter an amount such as 12.50, or leave it empty.";
        continue;
      }
      const list = getPath(body, listPath);
      field.dataset.sentAs = `${listPath}.${list.length}`;
      list.push({ amount, currency: field.dataset.currency });
      continue;
    }
    if (type === "list") {
      const list = form.querySelectorAll(`[name="${CSS.escape(field.name)}"]`);
      setPath(body, field.name, Array.from(list).filter((box) => box.checked).map((box) => box.value));
      continue;
    }
    if (type === "bool") {
      setPath(body, field.name, field.checked);
      continue;
    }
    if ((field.type === "radio" || field.type === "checkbox") && !field.checked) continue;
    // Passwords are sent as typed: the server compares them byte for byte.
    const raw = field.type === "password" ? field.value : field.value.trim();
    if (raw === "" && field.hasAttribute("data-optional")) continue;
    // Checked here with the fields' formats, so that a form lists every such mistake at
    // once instead of the server's after the page's.
    if (raw === "" && field.required) {
      errors[field.name] = "Fill this in.";
      continue;
    }
    if (raw === "" && field.hasAttribute("data-null")) {
      setPath(body, field.name, null);
      continue;
    }
    let value = raw;
    if (type === "int") {
      value = /^-?\d+$/.test(raw) ? Number(raw) : null;
      const [min, max] = [field.min, field.max].map((bound) => (bound === "" ? null : Number(bound)));
      if (value === null) errors[field.name] = "Enter a whole number.";
      else if ((min !== null && value < min) || (max !== null && value > max)) {
        errors[field.name] = max === null ? `Enter ${min} or more.` : `Enter a number from ${min ?? 0} to ${max}.`;
      }
    } else if (type === "csv") {
      value = raw === "" ? [] : raw.split(",").map((item) => item.trim()).filter((item) => item !== "");
    } else if (type === "percent") {
      // Typed in percent, sent in basis points (12.5 % is 1250).
      value = minorUnits(raw, 2);
      if (value === null) errors[field.name] = "Enter a percentage such as 10 or 12.5.";
    } else if (type === "minor") {
      const decimals = decimalsOf(form, field);
      value = minorUnits(raw, decimals);
      if (value === null) errors[field.name] = decimals > 0 ? "Enter an amount such as 12.50." : "Enter a whole amount.";
    } else if (type === "tiers") {
      value = weightTiers(field.value, decimalsOf(form, field));
      if (value === null) errors[field.name] = "Write one tier per line: grams, a colon, the price (1000: 4.90).";
    } else if (type === "links") {
      value = menuLinks(field.value);
      if (value === null) errors[field.name] = "Write one link per line: a label, a bar, an address (About | /pages/about).";
    }
    setPath(body, field.name, value);
  }
  return { body, errors };
}

function clearErrors(form) {
  form.querySelectorAll("[data-error-for], [data-form-error], [data-form-success]").forEach((node) => {
    node.textContent = "";
  });
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
}

function showFieldError(form, field, message) {
  // The API names list items `variants[0].sku`; the forms name them `variants.0.sku`.
  let name = field.replace(/\[(\d+)\]/g, ".$1");
  const gathered = form.querySelector(`[data-sent-as="${CSS.escape(name.replace(/\.(amount|currency)$/, ""))}"]`);
  if (gathered) name = gathered.name;
  // An error inside a field's value (`rate.tiers.1.amount`) goes to that field, saying where.
  let slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
  let within = "";
  while (!slot && name.includes(".")) {
    within = name.slice(name.lastIndexOf(".") + 1) + (within ? `.${within}` : "");
    name = name.slice(0, name.lastIndexOf("."));
    slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
  }
  if (!slot) return false;
  const line = /^(\d+)/.exec(within);
  slot.textContent = line ? `Line ${Number(line[1]) + 1}: ${message}` : message;
  const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
  if (input) input.setAttribute("aria-invalid", "true");
  return true;
}

function declineMessage(code) {
  const reasons = {
    insufficient_funds: "The card was declined: insufficient funds.",
    generic_decline: "The card was declined.",
    payment_intent_authentication_failure: "The card's bank could not confirm the payment.",
    authentication_not_finished: "The card's confirmation was not finished.",
  };
  return `${reasons[code] || "The card was declined."} Your cart is unchanged; try another card.`;
}

// Puts a failed request's messages next to what caused them.
function showProblem(form, error) {
  const problem = error.problem || {};
  let placed = false;
  if (problem.code === "payment_declined") {
    const message = declineMessage(problem.decline_code);
    placed = showFieldError(form, "payment.token", message) || showFieldError(form, "payment.payment_method", message);
  }
  for (const fieldError of problem.errors || []) {
    placed = showFieldError(form, fieldError.field, fieldError.message) || placed;
  }
  // A refusal about one field's value as things stand (stock below what is reserved).
  if (problem.status === 409 && form.dataset.conflictField) {
    placed = showFieldError(form, form.dataset.conflictField, problem.detail) || placed;
  }
  const summary = form.querySelector("[data-form-error]");
  if (summary && (!placed || problem.code === "payment_declined")) {
    summary.textContent = problem.code === "payment_declined" ? "Payment declined." : error.message;
  } else if (summary) {
    summary.textContent = "Please correct the fields marked above.";
  }
  const invalid = form.querySelector("[aria-invalid=true]");
  if (invalid) invalid.focus();
}

function afterSuccess(form, result) {
  const then = form.dataset.then || "reload";
  // A sign-in that brought the guest cart along names the cart that holds it now.
  if (result && result.cart_id) writeCookie(CART_COOKIE, result.cart_id, 60 * 60 * 24 * 30);
  if (then === "reload") {
    location.reload();
  } else if (then === "next") {
    // Only ever a page of this site (the server checks `next` too).
    const next = new URL(form.dataset.next || "/", location.origin);
    location.assign(next.origin === location.origin ? next.pathname + next.search : "/");
  } else if (then === "order") {
    writeCookie(CART_COOKIE, "", 0);
    const token = result.token ? `&token=${encodeURIComponent(result.token)}` : "";
    location.assign(`/orders/${encodeURIComponent(result.id)}?placed=1${token}`);
  } else if (then === "secret") {
    // A new webhook endpoint: its secret is shown this once, in place of the form's button.
    form.querySelector("[data-secret-value]").textContent = result.secret;
    form.querySelector("[data-secret]").hidden = false;
    form.querySelector("button[type=submit]").hidden = true;
  } else if (then === "message") {
    form.reset();
    form.querySelector("[data-form-success]").textContent = form.dataset.success;
  } else if (then.startsWith("/")) {
    location.assign(then.replace("{id}", encodeURIComponent(result.id)));
  }
}

// The search box suggests products as the shopper types, from the catalog's own search
// (prefixes and typos included): links that open a product at once. Down arrow moves
// into them, Escape closes them.
function followSuggestions(input) {
  const list = document.getElementById(input.dataset.suggest);
  const status = input.form.querySelector("[data-suggest-status]");
  let timer = null;
  // Closed by Escape or a click elsewhere: an answer still on its way does not reopen it.
  let closed = false;
  const hide = () => {
    list.hidden = true;
    closed = true;
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    closed = false;
    const q = input.value.trim();
    if (q.length < 2) {
      list.replaceChildren();
      if (status) status.textContent = "";
      hide();
      return;
    }
    timer = setTimeout(async () => {
      let found;
      try {
        found = await api("GET", `/v1/products?limit=5&q=${encodeURIComponent(q)}`);
      } catch {
        return;
      }
      // A newer question is on its way (this answer is for words no longer typed), or
      // the shopper closed the list.
      if (input.value.trim() !== q || closed) return;
      // The shopper already went down into the list (an earlier answer's): it stays as
      // they see it, rather than vanish from under the link they are on.
      if (list.contains(document.activeElement)) return;
      list.replaceChildren(
        ...found.data.map((product) => {
          const item = document.createElement("li");
          const link = document.createElement("a");
          link.href = `/products/${encodeURIComponent(product.slug)}`;
          // Its first uploaded picture, small (one linked from elsewhere is not loaded).
          const picture = product.images.find((image) => image.width);
          if (picture) {
            const thumb = document.createElement("img");
            thumb.className = "suggestion-thumb";
            thumb.src = `${picture.url}?w=160`;
            thumb.alt = "";
            thumb.width = 32;
            thumb.height = 32;
            link.append(thumb);
          }
          link.append(product.title);
          item.append(link);
          return item;
        }),
      );
      list.hidden = found.data.length === 0;
      if (status) status.textContent = found.data.length ? `${found.data.length} suggestions` : "";
    }, 150);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") hide();
    if (event.key === "ArrowDown" && !list.hidden) {
      event.preventDefault();
      list.querySelector("a")?.focus();
    }
  });
  list.addEventListener("keydown", (event) => {
    const links = [...list.querySelectorAll("a")];
    const at = links.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && at < links.length - 1) links[at + 1].focus();
    else if (event.key === "ArrowUp") (at > 0 ? links[at - 1] : input).focus();
    else if (event.key === "Escape") {
      hide();
      input.focus();
    } else return;
    event.preventDefault();
  });
  document.addEventListener("click", (event) => {
    if (!input.form.contains(event.target)) hide();
  });
}

// Stripe's card form, when the shop takes cards with Stripe: the card becomes a
// PaymentMethod in the browser (Stripe.js) and never reaches this server.
let cardForm = null;

function mountCardForm(container) {
  if (typeof window.Stripe !== "function") {
    const error = container.parentElement.querySelector("[data-error-for]");
    if (error) error.textContent = "The card form could not load. Check your connection and reload the page.";
    return;
  }
  const stripe = window.Stripe(container.dataset.stripeKey);
  const elements = stripe.elements({
    mode: "payment",
    amount: Number(container.dataset.amount),
    currency: container.dataset.currency.toLowerCase(),
    paymentMethodCreation: "manual",
    paymentMethodTypes: ["card"],
  });
  elements.create("payment").mount(container);
  cardForm = { stripe, elements, container };
}

function cardProblem(message) {
  return new ApiProblem(422, { errors: [{ field: "payment.payment_method", message }], detail: message });
}

// Pays with the card in Stripe's form: a PaymentMethod from Stripe.js, then the checkout;
// when the bank asks for 3-D Secure, Stripe's challenge, then the confirmation. A
// challenge left unfinished gives the attempt up, so the cart's stock is not held.
async function payWithCard(path, body) {
  const { stripe, elements } = cardForm;
  const submitted = await elements.submit();
  if (submitted.error) throw cardProblem(submitted.error.message);
  const created = await stripe.createPaymentMethod({ elements });
  if (created.error) throw cardProblem(created.error.message);
  const result = await api("POST", path, { ...body, payment: { payment_method: created.paymentMethod.id } });
  if (!result || result.status !== "requires_action") return result;
  try {
    await stripe.handleNextAction({ clientSecret: result.client_secret });
  } catch {
    // Whatever became of the challenge, the confirmation asks Stripe.
  }
  const payment = `/v1/payments/${encodeURIComponent(result.payment_id)}`;
  const confirmed = await api("POST", `${payment}/confirm`);
  if (confirmed && confirmed.status === "requires_action") {
    await api("POST", `${payment}/cancel`);
    throw new ApiProblem(402, { code: "payment_declined", decline_code: "authentication_not_finished" });
  }
  // A guest's order opens with the token the checkout gave.
  return { ...confirmed, token: result.token };
}

// A form's submit buttons may send it elsewhere: `data-api` and `data-then` on the button
// win over the form's, and `data-fields` keeps only those top-level fields of the body.
async function submitApiForm(form, event) {
  event.preventDefault();
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
  clearErrors(form);
  const submitter = event.submitter && event.submitter.dataset.api ? event.submitter : form;
  const [method, path] = submitter.dataset.api.split(" ");
  const { body: fullBody, errors } = formBody(form);
  const kept = submitter.dataset.fields ? submitter.dataset.fields.split(" ") : null;
  const body = kept ? Object.fromEntries(Object.entries(fullBody).filter(([key]) => kept.includes(key))) : fullBody;
  const names = Object.keys(errors).filter((name) => !kept || kept.includes(name.split(".")[0]));
  if (names.length > 0) {
    names.forEach((name) => showFieldError(form, name, errors[name]));
    showProblem(form, new ApiProblem(422, { errors: [], detail: "Please correct the fields marked above." }));
    return;
  }
  // The button pressed (Pay, not the form's first button), so it cannot be pressed twice.
  const button = event.submitter || (submitter === form ? form.querySelector("[type=submit]") : submitter);
  if (button) button.disabled = true;
  try {
    const paysByCard = cardForm && submitter === form && form.contains(cardForm.container);
    const result = paysByCard
      ? await payWithCard(path, body)
      : await api(method, path, method === "DELETE" ? undefined : body);
    afterSuccess(submitter.dataset.then ? submitter : form, result);
  } catch (error) {
    showProblem(form, error);
    if (button) button.disabled = false;
  }
}

// The visitor's cart: the one in the cookie while it can still be changed, else a new one.
async function addToCart(form, event) {
  event.preventDefault();
  clearErrors(form);
  const { body, errors } = formBody(form);
  if (errors.quantity) {
    showFieldError(form, "quantity", errors.quantity);
    return;
  }
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  try {
    let cartId = readCookie(CART_COOKIE);
    let cart = null;
    if (cartId) {
      try {
        cart = await api("POST", `/v1/carts/${encodeURIComponent(cartId)}/items`, body);
      } catch (error) {
        // A cart that is gone (or someone else's) is replaced; any other refusal is shown.
        if (error.status !== 404) throw error;
      }
    }
    if (!cart) {
      const chosen = form.querySelector("input[name=variant_id]:checked");
      cartId = (await api("POST", "/v1/carts", { currency: chosen.dataset.currency })).id;
      writeCookie(CART_COOKIE, cartId, 60 * 60 * 24 * 30);
      cart = await api("POST", `/v1/carts/${encodeURIComponent(cartId)}/items`, body);
    }
    const count = cart.items.reduce((sum, line) => sum + line.quantity, 0);
    const success = form.querySelector("[data-form-success]");
    success.textContent = `Added. Your cart holds ${count} item${count === 1 ? "" : "s"}. `;
    const link = document.createElement("a");
    link.href = "/cart";
    link.textContent = "Go to checkout";
    success.append(link);
  } catch (error) {
    showProblem(form, error);
  } finally {
    button.disabled = false;
    refreshStock(form);
  }
}

// Stock on a product page: asked again when the visitor picks a variant and after adding
// to the cart, and followed live from the product's stock stream meanwhile.
async function refreshStock(form) {
  const productId = form.closest("[data-product]").dataset.product;
  try {
    const product = await api("GET", `/v1/products/${encodeURIComponent(productId)}`);
    for (const variant of product.variants) showStock(form, variant.id, variant.available);
    offerWhatCanBeBought(form);
  } catch {
    // Stock stays as last shown; the stream or the next refresh brings it.
  }
}

function showStock(form, variantId, available) {
  const slot = form.querySelector(`[data-stock-for="${CSS.escape(variantId)}"]`);
  if (!slot) return;
  slot.textContent = available > 0 ? `${available} in stock` : "Sold out";
  slot.classList.toggle("out", available <= 0);
  const choice = form.querySelector(`input[name=variant_id][value="${CSS.escape(variantId)}"]`);
  if (choice) choice.disabled = choice.dataset.sold !== "true" || available <= 0;
}

// Each `product.stock` event of the product's stream is one variant's stock now (all of
// them when the stream opens, so a reconnect catches up by itself).
function followStock(form) {
  const productId = form.closest("[data-product]").dataset.product;
  follow(`/v1/products/${encodeURIComponent(productId)}/events`, {
    "product.stock": (event) => {
      const stock = JSON.parse(event.data);
      showStock(form, stock.variant_id, stock.available);
      offerWhatCanBeBought(form);
    },
  });
}

// Opens a live stream with a listener per event name (and `open`, `error`). A dropped
// connection the browser retries by itself; an error answer (the server busy, too many
// streams from this address, a restart) ends an EventSource for good, so the stream is
// opened again here, a little later each time. Closed when the page goes.
const REOPEN_FIRST_MS = 2000;
const REOPEN_LONGEST_MS = 60000;

function follow(url, listeners) {
  let stream = null;
  let wait = REOPEN_FIRST_MS;
  let reopening = null;
  const open = () => {
    stream = new EventSource(url);
    for (const [name, listener] of Object.entries(listeners)) stream.addEventListener(name, listener);
    stream.addEventListener("open", () => {
      wait = REOPEN_FIRST_MS;
    });
    stream.addEventListener("error", () => {
      if (stream.readyState !== EventSource.CLOSED) return;
      reopening = setTimeout(open, wait);
      wait = Math.min(wait * 2, REOPEN_LONGEST_MS);
    });
  };
  open();
  window.addEventListener("pagehide", () => {
    clearTimeout(reopening);
    stream.close();
  });
}

// A sold-out variant cannot be chosen. When the visitor's choice sells out it is taken
// back, never swapped for another variant behind their back: they choose again.
function offerWhatCanBeBought(form) {
  const choices = Array.from(form.querySelectorAll("input[name=variant_id]"));
  const open = choices.filter((choice) => !choice.disabled);
  const chosen = choices.find((choice) => choice.checked);
  if (chosen && chosen.disabled) chosen.checked = false;
  const ready = choices.some((choice) => choice.checked);
  const button = form.querySelector("[data-add-button]");
  button.disabled = !ready;
  button.textContent = open.length === 0 ? "Sold out" : ready ? "Add to cart" : "Choose an option";
}

// Times in the visitor's own zone, all in one format: the server writes them in UTC.
const LOCAL_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function showLocalTimes(root) {
  root.querySelectorAll("time[data-local]").forEach((node) => {
    const moment = new Date(node.getAttribute("datetime"));
    if (!Number.isNaN(moment.getTime())) node.textContent = LOCAL_TIME.format(moment);
  });
}

// Pages that follow a live stream: on every event, the page is fetched again and each
// `data-live-region` is swapped for its new version, so what is shown is always what the
// server renders.
function followLive(container) {
  const note = container.querySelector("[data-live-note]");
  let pending = null;
  const refresh = () => {
    clearTimeout(pending);
    pending = setTimeout(async () => {
      try {
        const response = await fetch(location.href, { credentials: "same-origin" });
        if (!response.ok) return;
        const next = new DOMParser().parseFromString(await response.text(), "text/html");
        container.querySelectorAll("[data-live-region]").forEach((region) => {
          // A form someone is typing into is left alone; the next refresh catches up.
          if (region.contains(document.activeElement) && document.activeElement !== document.body) return;
          const fresh = next.getElementById(region.id);
          if (fresh) region.innerHTML = fresh.innerHTML;
          showLocalTimes(region);
        });
        if (note) note.textContent = `Updated ${LOCAL_TIME.format(new Date())}.`;
      } catch {
        // The stream reconnects by itself; the next event refreshes again.
      }
    }, 150);
  };
  let opened = false;
  // An order stream opens with the order as it is now; refreshing on that too closes the
  // gap between rendering the page and the stream opening.
  const listeners = Object.fromEntries(
    ["order.updated", "order.paid", "order.fulfilled", "order.canceled", "order.refunded"].map((name) => [name, refresh]),
  );
  listeners.open = () => {
    if (note) note.textContent = "Live: changes appear here as they happen.";
    // After a reconnect, catch up with what happened while the stream was down.
    if (opened) refresh();
    opened = true;
  };
  listeners.error = () => {
    if (note) note.textContent = "Reconnecting…";
  };
  follow(container.dataset.live, listeners);
}

// The storefront's currency picker: an open cart moves to the new currency with the
// visitor (refused, and the picker put back, when one of its lines is not sold in it), and
// the pages show prices in it from then on.
async function switchCurrency(select) {
  const error = select.parentElement.querySelector("[data-currency-error]");
  error.textContent = "";
  const cartId = readCookie(CART_COOKIE);
  try {
    if (cartId) await api("PATCH", `/v1/carts/${encodeURIComponent(cartId)}`, { currency: select.value });
  } catch (problem) {
    // A cart that is gone or already checked out does not hold the visitor back.
    if (problem.status !== 404 && problem.status !== 409) {
      error.textContent = problem.problem.code === "not_sold_in_currency"
        ? `Your cart holds an item that is not sold in ${select.value}. Remove it to switch.`
        : problem.message;
      select.value = select.querySelector("option[selected]").value;
      return;
    }
  }
  writeCookie("backroom_currency", select.value, 60 * 60 * 24 * 365);
  location.reload();
}

async function logout() {
  try {
    await api("POST", "/v1/auth/logout");
  } finally {
    // The next person at this browser starts with an empty cart.
    writeCookie(CART_COOKIE, "", 0);
    location.assign("/");
  }
}

// The product editor's images: uploads one file at a time (each with the alt text given),
// then shows the product again; a file refused is named with the reason, and the others
// still go.
async function uploadImages(form, files) {
  clearErrors(form);
  const button = form.querySelector("[type=submit]");
  const chosen = Array.from(files || []);
  if (chosen.length === 0) {
    showFieldError(form, "file", "Choose one or more images, or drop them here.");
    return;
  }
  button.disabled = true;
  const refused = [];
  for (const [index, file] of chosen.entries()) {
    form.querySelector("[data-form-success]").textContent = `Uploading ${index + 1} of ${chosen.length}: ${file.name}`;
    const body = new FormData();
    body.append("file", file);
    if (form.elements.alt.value.trim()) body.append("alt", form.elements.alt.value.trim());
    try {
      await api("POST", form.dataset.upload, body);
    } catch (error) {
      const reasons = (error.problem && error.problem.errors) || [];
      refused.push(`${file.name}: ${reasons.length ? reasons.map((reason) => reason.message).join("; ") : error.message}`);
    }
  }
  if (refused.length === 0) {
    window.location.reload();
    return;
  }
  form.querySelector("[data-form-success]").textContent = "";
  showFieldError(form, "file", refused.join(" "));
  form.querySelector("[data-form-error]").textContent =
    refused.length < chosen.length ? "The other images were added: reload to see them." : "No image was added.";
  button.disabled = false;
}

// Moves an image to `position` among the product's images (or removes it), then shows the
// product again.
async function changeImage(row, method, body) {
  row.querySelectorAll("button").forEach((button) => (button.disabled = true));
  try {
    await api(method, row.dataset.image, body);
    window.location.reload();
  } catch (error) {
    showProblem(row.querySelector("form"), error);
    row.querySelectorAll("button").forEach((button) => (button.disabled = false));
  }
}

document.addEventListener("click", (event) => {
  const row = event.target.closest("[data-image]");
  if (!row) return;
  const move = event.target.closest("[data-move-image]");
  if (move) changeImage(row, "PATCH", { position: Number(row.dataset.position) + Number(move.dataset.moveImage) });
  if (event.target.closest("[data-remove-image]") && window.confirm("Remove this image from the product?")) {
    changeImage(row, "DELETE");
  }
});

// Dragging: files onto the drop zone upload; an image (its picture is the handle) onto
// another takes its place.
let draggedImage = null;
const carriesFiles = (event) => Array.from(event.dataTransfer.types).includes("Files");
document.addEventListener("dragstart", (event) => {
  draggedImage = event.target.closest && event.target.closest("[data-image]");
});
document.addEventListener("dragend", () => {
  draggedImage = null;
});
document.addEventListener("dragover", (event) => {
  const zone = event.target.closest && event.target.closest("[data-drop-zone], [data-image]");
  if (!zone) return;
  event.preventDefault();
  zone.classList.add("drag-over");
});
document.addEventListener("dragleave", (event) => {
  const zone = event.target.closest && event.target.closest("[data-drop-zone], [data-image]");
  if (zone) zone.classList.remove("drag-over");
});
document.addEventListener("drop", (event) => {
  const zone = event.target.closest && event.target.closest("[data-drop-zone], [data-image]");
  if (!zone) return;
  event.preventDefault();
  zone.classList.remove("drag-over");
  if (zone.matches("[data-drop-zone]")) {
    if (carriesFiles(event)) uploadImages(zone.closest("form"), event.dataTransfer.files);
  } else if (!carriesFiles(event) && draggedImage && draggedImage !== zone) {
    changeImage(draggedImage, "PATCH", { position: Number(zone.dataset.position) });
  }
  draggedImage = null;
});

// The dashboard's catalog import: the file goes as text/csv, and the report is shown:
// what was created and updated, and each refused row with why.
async function importCatalog(form) {
  clearErrors(form);
  const report = form.querySelector("[data-import-report]");
  report.replaceChildren();
  const file = form.elements.file.files[0];
  if (!file) {
    showFieldError(form, "file", "Choose a CSV file to import.");
    return;
  }
  const button = form.querySelector("[type=submit]");
  button.disabled = true;
  report.textContent = `Importing ${file.name}…`;
  try {
    const headers = { Accept: "application/json", "Content-Type": "text/csv", "Idempotency-Key": randomKey() };
    const csrf = readCookie("backroom_csrf");
    if (csrf) headers["X-CSRF-Token"] = csrf;
    const response = await fetch(form.dataset.import, { method: "POST", headers, body: file, credentials: "same-origin" });
    const result = await response.json().catch(() => ({ detail: `The import failed (${response.status}).` }));
    if (!response.ok) throw new ApiProblem(response.status, result);
    const summary = document.createElement("p");
    summary.className = result.errors.length ? "form-error" : "form-success";
    summary.textContent = `${result.created} products created, ${result.updated} updated` +
      (result.errors.length ? `, ${result.errors.length} rows refused (they changed nothing):` : ".");
    report.replaceChildren(summary);
    if (result.errors.length) {
      const list = document.createElement("ul");
      list.className = "import-errors";
      for (const error of result.errors) {
        const item = document.createElement("li");
        item.textContent = `Row ${error.row}: ${error.message}`;
        list.append(item);
      }
      report.append(list);
    }
  } catch (error) {
    report.replaceChildren();
    showProblem(form, error.problem ? error : new ApiProblem(0, { detail: "The shop could not be reached. Check your connection and try again." }));
  }
  button.disabled = false;
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.matches("form[data-import]")) {
    event.preventDefault();
    importCatalog(form);
    return;
  }
  if (form.matches("form[data-upload]")) {
    event.preventDefault();
    uploadImages(form, form.elements.file.files);
    return;
  }
  if (form.matches("form[data-api]")) submitApiForm(form, event);
  else if (form.matches("form[data-add-to-cart]")) addToCart(form, event);
});

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-action=logout]")) logout();
  const menu = event.target.closest("[data-action=menu]");
  if (menu) {
    const nav = document.getElementById(menu.getAttribute("aria-controls"));
    const open = nav.classList.toggle("open");
    menu.setAttribute("aria-expanded", String(open));
  }
});

// A control with `data-autosubmit="BUTTON"` presses that button when it changes (the
// checkout's shipping options recalculate the cart at once).
// Shows the fields whose `data-when` holds for the form as it is now.
function showApplicable(form) {
  form.querySelectorAll("[data-when]").forEach((node) => {
    node.hidden = !applies(form, node);
  });
}

// A saved address picked at checkout fills the address fields (which stay editable).
function fillAddress(select) {
  const chosen = select.selectedOptions[0];
  if (!chosen || !chosen.value) return;
  for (const field of ["name", "line1", "line2", "postal_code", "city", "region", "country"]) {
    const input = select.form.elements[`shipping_address.${field}`];
    if (input) input.value = chosen.dataset[field] || "";
  }
}

document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-fill-address]")) fillAddress(event.target);
  if (event.target.matches("[data-switch]")) showApplicable(event.target.form);
  if (event.target.matches("[data-currency-switch]")) {
    switchCurrency(event.target);
    return;
  }
  const id = event.target.dataset && event.target.dataset.autosubmit;
  const button = id && document.getElementById(id);
  if (button) button.form.requestSubmit(button);
});

document.addEventListener("DOMContentLoaded", () => {
  showLocalTimes(document);
  document.querySelectorAll("[data-live]").forEach(followLive);
  document.querySelectorAll("[data-stripe-key]").forEach(mountCardForm);
  document.querySelectorAll("input[data-suggest]").forEach(followSuggestions);
  document.querySelectorAll("form").forEach(showApplicable);
  document.querySelectorAll("textarea[data-preview]").forEach(followPreview);
  const cartForm = document.querySelector("form[data-add-to-cart]");
  if (cartForm) {
    cartForm.addEventListener("change", (event) => {
      if (event.target.name !== "variant_id") return;
      offerWhatCanBeBought(cartForm);
      refreshStock(cartForm);
    });
    followStock(cartForm);
  }
  document.body.classList.add("js");
});
