#!/usr/bin/env python3
"""Writes the RouterOS command lists the install-script check reads (tests/data/routeros/<version>.txt).

Source: the `/console/inspect` dumps published by tikoci/restraml (https://github.com/tikoci/restraml),
docs/<version>/extra/inspect.json (RouterOS with its extra packages, container included), read at
commit 676c4bd. Only the menus our scripts use are kept, plus the scripting commands at the root
(`:put`, `:if`, ...). Each line: a command path (menus joined by `/`, the verb last) and its argument
names, space-separated.

Usage: extract.py <inspect.json> <out.txt>
"""
import json
import sys

MENUS = [
    "ip/hotspot", "tool/fetch", "file", "system/device-mode", "system/ntp", "system/resource",
    "system/clock", "system/identity", "system/package", "container", "interface/veth", "interface/bridge",
    "interface/list", "ip/address", "ip/firewall/filter", "ip/firewall/nat", "ip/service", "ip/dns",
    "user", "import", "log", "disk",
]


def walk(node, path, out):
    kind = node.get("_type")
    if kind == "cmd":
        args = sorted(k for k, v in node.items() if k != "_type" and isinstance(v, dict) and v.get("_type") == "arg")
        out.append("/".join(path) + (" " + " ".join(args) if args else ""))
        return
    for name, child in sorted(node.items()):
        if name != "_type" and isinstance(child, dict):
            walk(child, path + [name], out)


def main():
    tree = json.load(open(sys.argv[1]))
    out = []
    for name, child in sorted(tree.items()):
        if isinstance(child, dict) and child.get("_type") == "cmd":
            walk(child, [name], out)  # scripting commands at the root: put, if, local, ...
    for menu in MENUS:
        node = tree
        for part in menu.split("/"):
            node = node.get(part, {})
        if node:
            walk(node, menu.split("/"), out)
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(sorted(set(out))) + "\n")


main()
