"""Schemathesis hooks for .ci/schemathesis.sh: what a valid request needs that an OpenAPI
document cannot say. Only positive cases are changed (a negative case is meant to be
refused), with new containers, since generated cases share them.
"""
import uuid

import schemathesis
from schemathesis import GenerationMode

# The currency every generated request uses where a currency must be one the shop sells
# (the demo shop sells EUR; which currencies a shop sells is its setting, not a schema).
SOLD_CURRENCY = "EUR"


def _positive(case) -> bool:
    return case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE


def _valid_here(value):
    """`value` with what the shop's state decides made valid, at any depth: every
    `currency` the shop's; ids that must name existing rows left out; a variant's
    extra prices (each in another currency the shop sells) left out."""
    if isinstance(value, dict):
        valid = {}
        for key, item in value.items():
            if key in ("currency", "default_currency") and isinstance(item, str):
                valid[key] = SOLD_CURRENCY
            elif key == "currencies" and isinstance(item, list):
                # The shop keeps selling in the currency the rest of the run uses.
                valid[key] = [SOLD_CURRENCY] + [code for code in item if code != SOLD_CURRENCY][:19]
            elif key in ("category_ids", "product_ids", "prices") and isinstance(item, list):
                valid[key] = []
            elif key == "parent_id" and item is not None:
                valid[key] = None
            else:
                valid[key] = _valid_here(item)
        return valid
    if isinstance(value, list):
        return [_valid_here(item) for item in value]
    return value


def _valid_query(query):
    """A cursor is valid only as this API returned it ("the next page of a made-up
    listing" is rightly refused); a relevance sort needs words to rank by; a price range
    runs from its minimum up."""
    query = _valid_here({key: value for key, value in query.items() if key != "cursor"})
    if query.get("sort") == "relevance" and not str(query.get("q") or "").strip():
        del query["sort"]
    low, high = _whole(query.get("min_price")), _whole(query.get("max_price"))
    if low is not None and high is not None and low > high:
        query["min_price"], query["max_price"] = query["max_price"], query["min_price"]
    return query


def _whole(value):
    """A query value as the integer it spells, if it is one."""
    try:
        return int(str(value))
    except ValueError:
        return None


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """Runs before every request of every phase. Negative cases are left alone: editing
    one would make Schemathesis check it again and send what it meant to leave out."""
    if not _positive(case):
        return
    # A container is replaced only when something in it changes: Schemathesis checks an
    # edited case again, and takes a multipart body it checks again for an invalid one.
    if isinstance(case.query, dict):
        query = _valid_query(case.query)
        if query != case.query:
            case.query = query
    if isinstance(case.body, (dict, list)):
        body = _valid_here(case.body)
        if body != case.body:
            case.body = body
    # One Idempotency-Key sent with two different requests is rightly refused (422
    # idempotency_key_reused); the fuzzer would reuse the one it generated first.
    if isinstance((case.headers or {}).get("Idempotency-Key"), str):
        case.headers = {**case.headers, "Idempotency-Key": str(uuid.uuid4())}
