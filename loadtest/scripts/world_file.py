#!/usr/bin/env python3
"""Writes a Tavern world file (JSON lines, as `tavern world export` writes
them) of N objects, for the benchmarks in docs/benchmarks.md.

    python3 loadtest/scripts/world_file.py 1000000 > /tmp/world.jsonl
    python3 loadtest/scripts/world_file.py 1000000 game > /tmp/game.jsonl

The first shape (`plain`, the world-file benchmark): one room in ten, the
rest things in those rooms, each thing with three attributes, an alias and
a zone tag, no locks.

The `game` shape is a world as a game has it (the big-world benchmark):
one object in ten a room, two in ten exits (every room has an exit to the
next room and one back: a ring of rooms), six in ten things and one in ten
characters (non-player characters: no account), every object with the
locks the server gives its kind, things with three attributes, an alias
and a zone tag, characters with hit points, a level, a tag of their own
and a zone tag, rooms with a zone tag.
"""
import json
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
shape = sys.argv[2] if len(sys.argv) > 2 else "plain"
if shape not in ("plain", "game"):
    sys.exit("the shape is plain or game")
dump = lambda v: json.dumps(v, separators=(",", ":"), sort_keys=True)
out = sys.stdout
tables = ["server_config", "accounts", "objects", "help_entries", "channels",
          "channel_lines", "flow_instances", "timers"]

# The locks the server gives each kind (server/src/model/locks/defaults.rs).
THING_LOCKS = ("control:perm(Developer);examine:perm(Builder);edit:perm(Admin);"
               "delete:perm(Admin);get:all();drop:holds();call:true();puppet:pperm(Developer);"
               "view:all();teleport:true();teleport_here:true()")
ROOM_LOCKS = ("control:perm(Developer);examine:perm(Builder);edit:perm(Builder);"
              "delete:perm(Admin);get:false();puppet:false();call:true();view:all();"
              "teleport:false();teleport_here:true()")
EXIT_LOCKS = ("control:perm(Developer);examine:perm(Builder);edit:perm(Builder);"
              "delete:perm(Admin);traverse:all();get:false();puppet:false();call:true();"
              "view:all();teleport:false();teleport_here:false()")
NPC_LOCKS = THING_LOCKS.replace("get:all()", "get:false()")
COLOURS = ["red", "green", "blue"]


def obj(i, kind, key, desc, location=None, destination=None, attributes=None,
        aliases=None, tags=None, locks=""):
    return {
        "account_id": None, "aliases": aliases or [], "attributes": attributes or {},
        "cmdsets": [], "created_at": 1796500000000 + i, "description": desc,
        "destination_id": destination, "home_id": None, "id": i, "key": key,
        "kind": kind, "location_id": location, "locks": locks, "permissions": [],
        "tags": tags or [], "typeclass": kind,
    }


def plain(i):
    if i % 10 == 1:
        return obj(i, "room", "Room %d" % i, "Room %d." % i)
    return obj(i, "thing", "thing %d" % i, "A thing numbered %d." % i,
               location=i - (i - 1) % 10,
               attributes={"weight": i % 50, "value": i % 700, "colour": COLOURS[i % 3]},
               aliases=["t%d" % i], tags=[{"category": "zone", "key": "z%d" % (i // 10000)}])


def game(i):
    # Blocks of ten: a room, its two exits, six things, one character.
    room = i - (i - 1) % 10
    at = (i - 1) % 10
    rooms = (n + 9) // 10
    zone = {"category": "zone", "key": "z%d" % (i // 10000)}
    if at == 0:
        return obj(i, "room", "Room %d" % i, "Room %d, somewhere in the realm." % i,
                   tags=[zone], locks=ROOM_LOCKS)
    if at in (1, 2):
        # the next room in the ring, or the one before it
        step = 1 if at == 1 else -1
        other = ((room - 1) // 10 + step) % rooms * 10 + 1
        if other > n:
            other = 1
        name = "onward" if at == 1 else "back"
        return obj(i, "exit", name, "The way %s." % name, location=room,
                   destination=other, aliases=[name[0]], locks=EXIT_LOCKS)
    if at == 9:
        return obj(i, "character", "guard %d" % i, "A guard numbered %d." % i,
                   location=room, attributes={"hp": 20 + i % 30, "level": 1 + i % 10},
                   aliases=["g%d" % i], tags=[zone, {"category": "npc", "key": "guard"}],
                   locks=NPC_LOCKS)
    return obj(i, "thing", "thing %d" % i, "A thing numbered %d." % i, location=room,
               attributes={"weight": i % 50, "value": i % 700, "colour": COLOURS[i % 3]},
               aliases=["t%d" % i], tags=[zone], locks=THING_LOCKS)


make = game if shape == "game" else plain
out.write(dump({"passwords": False, "tables": tables, "tavern_world": 1}) + "\n")
out.write(dump({"row": {"key": "next_object_id", "value": str(n + 1000)}, "table": "server_config"}) + "\n")
out.write(dump({"row": {"key": "start_room", "value": "1"}, "table": "server_config"}) + "\n")
for i in range(1, n + 1):
    out.write(dump({"row": make(i), "table": "objects"}) + "\n")
