"""One customer's purchases, one at a time, timed step by step: a new cart, an item, a
checkout with the test provider. Prints p50 and p99 of each step and of the three
together, over ROUNDS purchases after ten of warm-up. Run by bench/purchase_steps.sh.

usage: purchase_steps.py PORT ROUNDS STAFF_EMAIL STAFF_PASSWORD
KEYS=0 sends no Idempotency-Key (as the suite's one-customer scenario); the storefront
sends one with every POST, and so does this by default.
"""
import http.client
import json
import os
import sys
import time
import uuid

KEYS = os.environ.get("KEYS", "1") == "1"
WARM_UP = 10
port, rounds, staff_email, staff_password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
connection = http.client.HTTPConnection("127.0.0.1", port)


def call(method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = "Bearer " + token
    if method == "POST" and KEYS:
        headers["idempotency-key"] = uuid.uuid4().hex
    started = time.perf_counter()
    connection.request(method, path, json.dumps(body) if body is not None else None, headers)
    response = connection.getresponse()
    data = response.read()
    return (time.perf_counter() - started) * 1000, response.status, json.loads(data) if data else None


def token(path, body):
    _, status, answer = call("POST", path, body)
    assert status in (200, 201), (path, status, answer)
    return answer["token"]


staff = token("/v1/auth/login", {"email": staff_email, "password": staff_password})
customer = token("/v1/auth/register", {"email": f"buyer-{uuid.uuid4().hex[:8]}@example.com",
                                       "password": "a long customer password"})
_, _, options = call("GET", "/v1/admin/shipping-options?limit=100", token=staff)
option = next(o["id"] for o in options["data"] if o["currency"] == "EUR" and "DE" in o["countries"])
_, _, products = call("GET", "/v1/products?limit=50")
variant = next(v["id"] for p in products["data"] for v in p["variants"] if v["available"] >= 10)
_, status, answer = call("POST", f"/v1/admin/inventory/{variant}/adjust",
                         {"delta": 100000, "reason": "restock"}, staff)
assert status == 200, (status, answer)

address = {"name": "Ada", "line1": "1 Main St", "city": "Berlin", "postal_code": "10117", "country": "DE"}
checkout = {"shipping_address": address, "shipping_option_id": option, "payment": {"token": "tok_visa"}}
times = {"cart": [], "item": [], "checkout": [], "together": []}
for round_ in range(WARM_UP + rounds):
    cart_time, cart_status, cart = call("POST", "/v1/carts", {}, customer)
    item_time, item_status, _ = call("POST", f"/v1/carts/{cart['id']}/items",
                                     {"variant_id": variant, "quantity": 1}, customer)
    paid_time, paid_status, order = call("POST", f"/v1/carts/{cart['id']}/checkout", checkout, customer)
    assert (cart_status, item_status, paid_status) == (201, 200, 201), (cart_status, item_status, paid_status, order)
    if round_ >= WARM_UP:
        for name, value in (("cart", cart_time), ("item", item_time), ("checkout", paid_time),
                            ("together", cart_time + item_time + paid_time)):
            times[name].append(value)


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


print("  ".join(f"{name} p50 {quantile(v, .5):.2f} p99 {quantile(v, .99):.2f} ms" for name, v in times.items()))
