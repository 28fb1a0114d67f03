"""Schemathesis hooks for bench/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

The OpenAPI document states every rule the server enforces. A few of them JSON Schema cannot
express, so the document says them in words; these hooks teach them to the generator (for the
cases it calls valid) and nothing else. Each is the rule as the document words it:

- `format: cidr` (a custom format): an address range with no bits set past its prefix.
- An `expires_at` is in the future (it is `format: date-time` "in the future").
- A body's `account_id`, when sent, is the account in the path.
- An IP rule's ranges are distinct as ranges (`10.0.0.0/8` and `{"cidr": "10.0.0.0/8"}` are one).
- The audit log's `limit` is at most 1000 unless `format=csv` (then 100000).

And what the run does about itself, not about the document:

- Credentials: the Account Admin token from the first start; on the routes that act for a user
  (`x-latchkey-permission: user`) the admin user's personal access token, or their e-mail and
  password where the document takes only those. A write that revokes, rotates, re-grants or
  fences the run's own token or PAT, or removes the admin user's seat, would leave the rest of
  the run nothing to call with and test nothing more: such a request is aimed at an id no object
  has (a 404) instead. Writes to every other object go through.
- The server throttles failed authentications per client address and per presented credential
  (429 with `Retry-After`, listed on every guarded operation). Schemathesis sends invalid
  credentials (`ignored_auth`) and none at all (`missing_required_header`) to every operation,
  from the one loopback address and with one made-up credential, and expects 401 or 403 only;
  past the budget it meets 429. That answer, to those requests only, is not a finding. (Past the
  budget a correct password from the same address is refused too, before hashing, so the one
  password-only operation is mostly answered 429 late in a run.)
- Deleting is soft, as in dbt Cloud and as the DELETE operations say: the object reads back with
  `state: 2`. Schemathesis's `use_after_free` check expects a 404 after a DELETE; an answer that
  shows the object deleted is not a finding.

Environment: LATCHKEY_ADMIN_TOKEN, LATCHKEY_ADMIN_TOKEN_ID, LATCHKEY_ADMIN_USER_ID,
LATCHKEY_ADMIN_EMAIL, LATCHKEY_ADMIN_PASSWORD, LATCHKEY_PAT, LATCHKEY_PAT_ID.
"""

from __future__ import annotations

import datetime
import ipaddress
import os

import schemathesis
from hypothesis import strategies as st
from requests.auth import _basic_auth_str

ADMIN_TOKEN = os.environ["LATCHKEY_ADMIN_TOKEN"]
ADMIN_TOKEN_ID = int(os.environ["LATCHKEY_ADMIN_TOKEN_ID"])
ADMIN_USER_ID = int(os.environ["LATCHKEY_ADMIN_USER_ID"])
ADMIN_EMAIL = os.environ["LATCHKEY_ADMIN_EMAIL"]
ADMIN_PASSWORD = os.environ["LATCHKEY_ADMIN_PASSWORD"]
PAT = os.environ["LATCHKEY_PAT"]
PAT_ID = int(os.environ["LATCHKEY_PAT_ID"])


def _network(version: int, address: int, prefix: int, bare: bool) -> str:
    """A range with the bits past its prefix cleared; a one-host range sometimes bare."""
    cls = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    network = cls((address, prefix), strict=False)
    if bare and prefix == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def _ranges(version: int) -> st.SearchStrategy[str]:
    width = 32 if version == 4 else 128
    return st.builds(
        _network,
        st.just(version),
        st.integers(min_value=0, max_value=(1 << width) - 1),
        st.integers(min_value=0, max_value=width),
        st.booleans(),
    )


CIDR = st.sampled_from([4, 6]).flatmap(_ranges)
schemathesis.openapi.format("cidr", CIDR)


def _is_positive(case: schemathesis.Case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode == schemathesis.GenerationMode.POSITIVE


def _future(text: object) -> object:
    """A date-time in the past moved to the same moment in 2999; anything else as it is."""
    if not isinstance(text, str):
        return text
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return text
    if when.tzinfo is None or when > datetime.datetime.now(datetime.timezone.utc):
        return text
    return "2999" + text[4:] if len(text) > 4 and text[:4].isdigit() else text


def _range(item: object) -> object:
    """The network an IP rule's range names, as the server reads it; `None` if it names none."""
    text = item if isinstance(item, str) else None
    if isinstance(item, dict):
        text = item.get("cidr") if item.get("cidr") is not None else item.get("cidr_ipv6")
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except (AttributeError, ValueError):
        return None
    mapped = getattr(network.network_address, "ipv4_mapped", None)
    if mapped is not None and network.prefixlen >= 96:
        return ipaddress.ip_network((mapped, network.prefixlen - 96))
    return network


def _distinct_ranges(cidrs: list) -> list:
    """An IP rule's ranges without those naming a network already listed (the document's
    "distinct ranges": `10.0.0.0/8` and `{"cidr": "10.0.0.0/8"}` are one range)."""
    seen, kept = set(), []
    for item in cidrs:
        network = _range(item)
        if network is None or network not in seen:
            kept.append(item)
            seen.add(network)
    return kept


# Writes that would revoke, rotate, re-grant or fence in the run's own credentials.
_OWN_TOKEN_WRITES = (
    "/service-tokens/{id}/",
    "/service-tokens/{id}/rotate/",
    "/service-tokens/{id}/permissions/",
)

# An id no object has: a write aimed at the run's own credentials goes here instead (404).
_NOBODY = 999_999_999_999


def _spare_own_credentials(case: schemathesis.Case) -> None:
    """Aims a write at the run's own admin token or personal access token elsewhere, and the
    removal of the admin user's seat (which ends their personal access token and password)."""
    params = case.path_parameters
    if case.method.upper() == "GET" or not isinstance(params, dict):
        return
    path = case.operation.path
    if path.endswith("/users/{user_id}/") and str(params.get("user_id")).strip() == str(ADMIN_USER_ID):
        params["user_id"] = _NOBODY
    if "id" not in params:
        return
    own = str(params["id"]).strip()
    if any(path.endswith(p) for p in _OWN_TOKEN_WRITES) and own == str(ADMIN_TOKEN_ID):
        params["id"] = _NOBODY
    if path.endswith("/personal-tokens/{id}/") and own == str(PAT_ID):
        params["id"] = _NOBODY


def _keep_worded_rules(case: schemathesis.Case) -> None:
    """The document's worded rules, applied to a case it calls valid."""
    body = case.body
    if isinstance(body, dict):
        if "expires_at" in body:
            body["expires_at"] = _future(body["expires_at"])
        account = (case.path_parameters or {}).get("account_id")
        if "account_id" in body and str(account).isdigit():
            body["account_id"] = int(account)
        if isinstance(body.get("cidrs"), list):
            body["cidrs"] = _distinct_ranges(body["cidrs"])
    if case.operation.path.endswith("/audit-logs/") and isinstance(case.query, dict):
        limit = str(case.query.get("limit"))
        if case.query.get("format") != "csv" and limit.isdigit() and int(limit) > 1000:
            case.query["limit"] = 1000


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs) -> None:
    """Every request of every phase passes here (generated cases, explicit examples and stateful
    steps alike), so the rules hold for all of them."""
    _spare_own_credentials(case)
    if _is_positive(case):
        _keep_worded_rules(case)


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    """Keeps every failure but a 429 answer to a request with invalid or missing credentials
    (the check below keeps the throttle honest), and soft deletes (see above)."""
    throttled = (failure.code == "ST401" and "got `429 Too Many Requests`" in failure.message) or (
        failure.code == "ST203" and failure.message.startswith("Got 429 when missing required")
    )
    return not (throttled or _soft_deleted(failure, response))


# Operations whose 429 a valid credential may meet: leak reports and redemptions have budgets
# per client address; a password is not checked from an address past its failure budget.
_ADDRESS_BUDGETS = ("/api/v1/credentials/revoke", "/api/v3/invites/redeem/")


@schemathesis.check
def valid_credentials_are_never_throttled(ctx, response, case) -> None:
    """The run's own token or personal access token is never refused with 429 because other
    requests from its address failed (issue 8, finding 6): the throttle refuses failures, not
    callers. Past it, a run would test nothing but 429, so this keeps the filter above honest."""
    authorization = (case.headers or {}).get("Authorization")
    ours = authorization in (f"Token {ADMIN_TOKEN}", f"Token {PAT}")
    if ours and response.status_code == 429 and case.operation.path not in _ADDRESS_BUDGETS:
        raise AssertionError(
            f"{case.method} {case.path}: a valid token was answered 429 because of other "
            "requests' failures"
        )


def _soft_deleted(failure, response) -> bool:
    """Whether a "deleted resource still available" finding is the document's soft delete: the
    object reads back with `state: 2`, as the DELETE operations say it does."""
    if failure.code != "ST301":
        return False
    try:
        return response.json()["data"]["state"] == 2
    except (ValueError, KeyError, TypeError):
        return False


@schemathesis.auth().apply_to(path_regex="/personal-tokens/$", method="POST")
class Password:
    """The admin user's e-mail and password: the one way to create a personal access token."""

    def get(self, case, context):
        return (ADMIN_EMAIL, ADMIN_PASSWORD)

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = _basic_auth_str(*data)


@schemathesis.auth().apply_to(path_regex="/personal-tokens/")
class PersonalAccessToken:
    """The admin user's own token, for the other routes that act for a user."""

    def get(self, case, context):
        return PAT

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Token {data}"


@schemathesis.auth().skip_for(path_regex="/personal-tokens/")
class AccountAdmin:
    """The Account Admin service token the first start prints."""

    def get(self, case, context):
        return ADMIN_TOKEN

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Token {data}"

