#!/usr/bin/env python3
"""Writes a Tavern world file (JSON lines, as `tavern world export` writes
them) of N objects: one room in ten, the rest things in those rooms, each
thing with three attributes, an alias and a zone tag. For the world-file
benchmark in docs/benchmarks.md:

    python3 loadtest/scripts/world_file.py 1000000 > /tmp/world.jsonl
"""
import json
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
dump = lambda v: json.dumps(v, separators=(",", ":"), sort_keys=True)
out = sys.stdout
tables = ["server_config", "accounts", "objects", "help_entries", "channels",
          "channel_lines", "flow_instances", "timers"]
out.write(dump({"passwords": False, "tables": tables, "tavern_world": 1}) + "\n")
out.write(dump({"row": {"key": "next_object_id", "value": str(n + 1000)}, "table": "server_config"}) + "\n")
out.write(dump({"row": {"key": "start_room", "value": "1"}, "table": "server_config"}) + "\n")
for i in range(1, n + 1):
    room = i % 10 == 1
    row = {
        "account_id": None,
        "aliases": [] if room else ["t%d" % i],
        "attributes": {} if room else {"weight": i % 50, "value": i % 700,
                                       "colour": ["red", "green", "blue"][i % 3]},
        "cmdsets": [],
        "created_at": 1796500000000 + i,
        "description": ("Room %d." % i) if room else ("A thing numbered %d." % i),
        "destination_id": None,
        "home_id": None,
        "id": i,
        "key": ("Room %d" % i) if room else ("thing %d" % i),
        "kind": "room" if room else "thing",
        "location_id": None if room else i - (i - 1) % 10,
        "locks": "",
        "permissions": [],
        "tags": [] if room else [{"category": "zone", "key": "z%d" % (i // 10000)}],
        "typeclass": "room" if room else "thing",
    }
    out.write(dump({"row": row, "table": "objects"}) + "\n")
