#!/usr/bin/env python3
"""Drives the RouterOS API emulator with two third-party clients from PyPI, to show it speaks
the real protocol: librouteros 4.2.2 and RouterOS-api 0.21.0.

Run by tests/tests/e2e/routeros_peers.rs against an emulator it started:

    routeros_peers.py --port N --mode plain|legacy|no-empty|tag-first

Modes: `plain` (clear-text login, `!empty`), `legacy` (MD5 challenge login), `no-empty`
(no `!empty`, as before RouterOS 7.18), `tag-first` (`.tag` right after the reply word).
The emulator must have user admin/secret and the profiles `default` and `1h`. Exits 0 when
every check passes; prints each check as it goes.
"""

import argparse
import re
import sys

DUPLICATE = "failure: already have user with this name for this server"
NO_PROFILE = "input does not match any value of profile"


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"  ok: {what}", flush=True)


def run_librouteros(port, mode):
    from librouteros import connect
    from librouteros.exceptions import TrapError
    from librouteros.login import plain, token
    from librouteros.query import Key

    method = token if mode == "legacy" else plain
    print(f"librouteros ({method.__name__} login)", flush=True)
    api = connect(host="127.0.0.1", port=port, username="admin", password="secret", login_method=method, timeout=10)
    check(True, "logged in")
    users = api.path("ip", "hotspot", "user")
    name = "lr-0712345678"
    new_id = users.add(name=name, password="4821", profile="1h", **{"limit-uptime": "1h30m", "comment": "paid"})
    check(re.fullmatch(r"\*[0-9A-F]+", new_id) is not None, f"add returned the new id {new_id!r}")

    key_id, key_name = Key(".id"), Key("name")
    rows = list(users.select(key_id, key_name, Key("limit-uptime")).where(key_name == name))
    check(len(rows) == 1 and rows[0][".id"] == new_id, f"query ?=name= finds it: {rows}")
    check(rows[0].get("limit-uptime") == "1h30m", "limit-uptime printed compactly")
    either = list(users.select(key_name).where(key_name.In(name, "nobody")))
    check(either == [{"name": name}], f"OR query (?#|) finds it: {either}")
    counted = list(api.rawCmd("/ip/hotspot/user/print", "=count-only=", f"?=name={name}"))
    check(counted == [{"ret": 1}], f"count-only: {counted}")
    others = list(users.select(key_name).where(key_name != name))
    check(others == [], f"negated query (?#!) finds nothing else: {others}")

    try:
        users.add(name=name, password="x")
        check(False, "duplicate add must trap")
    except TrapError as error:
        check(error.message == DUPLICATE, f"duplicate trap text: {error.message!r}")
    try:
        users.add(name="lr-other", password="x", profile="nope")
        check(False, "unknown profile must trap")
    except TrapError as error:
        check(error.message == NO_PROFILE, f"profile trap text: {error.message!r}")

    empty = list(users.select(key_name).where(key_name == "nobody"))
    check(empty == [], "empty print gives no rows")
    users.remove(new_id)
    check(list(users.select(key_id).where(key_name == name)) == [], "removed")

    resource = list(api.path("system", "resource"))
    check(len(resource) == 1 and resource[0]["version"] == "7.20.8 (long-term)", f"/system/resource version: {resource[0].get('version')!r}")
    check(resource[0]["board-name"] == "hAP ax^3", "/system/resource board-name")
    api.close()


def run_routeros_api(port, mode):
    import routeros_api
    from routeros_api.exceptions import RouterOsApiCommunicationError

    plaintext = mode != "legacy"
    print(f"RouterOS-api (plaintext_login={plaintext})", flush=True)
    pool = routeros_api.RouterOsApiPool("127.0.0.1", username="admin", password="secret", port=port, plaintext_login=plaintext)
    api = pool.get_api()
    check(True, "logged in")
    users = api.get_resource("/ip/hotspot/user")
    name = "ra-0712345678"
    users.add(name=name, password="4821", profile="1h")
    rows = users.get(name=name)
    check(len(rows) == 1 and rows[0]["name"] == name, f"query ?name= finds it: {rows}")
    check(re.fullmatch(r"\*[0-9A-F]+", rows[0]["id"]) is not None, "it has an id")

    for attempt, expected in (({"name": name, "password": "x"}, DUPLICATE), ({"name": "ra-other", "profile": "nope"}, NO_PROFILE)):
        try:
            users.add(**attempt)
            check(False, f"{attempt} must trap")
        except RouterOsApiCommunicationError as error:
            check(error.original_message.decode() == expected, f"trap text: {error.original_message!r}")

    check(list(users.get(name="nobody")) == [], "empty print gives no rows")

    # Two tagged commands in flight on one connection, answered by tag.
    first = users.get_async(name=name)
    second = api.get_resource("/system/identity").get_async()
    check(len(second.get()) == 1 and len(first.get()) == 1, "pipelined tagged commands")

    users.remove(id=rows[0]["id"])
    check(list(users.get(name=name)) == [], "removed")

    resource = api.get_resource("/system/resource").get()
    check(resource[0]["version"] == "7.20.8 (long-term)", f"/system/resource version: {resource[0].get('version')!r}")
    pool.disconnect()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["plain", "legacy", "no-empty", "tag-first"], required=True)
    args = parser.parse_args()
    import importlib.metadata as metadata

    for package, version in (("librouteros", "4.2.2"), ("RouterOS-api", "0.21.0")):
        found = metadata.version(package)
        if found != version:
            print(f"{package} {found} installed, {version} expected", file=sys.stderr)
            return 2
    run_librouteros(args.port, args.mode)
    run_routeros_api(args.port, args.mode)
    print(f"all peer checks passed in mode {args.mode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
