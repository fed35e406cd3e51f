#!/usr/bin/env python3
"""Several portals, one game: the figures in docs/benchmarks.md ("Several
portals"). Starts a game with the load-test settings, its main portal and
PORTALS-1 extra portals (`tavern portal`), then

1. sessions: one load tool per portal logs in SESSIONS idle bots through it
   at once (a process holds at most 20,000 descriptors on this machine, so
   one tool per portal); reports how many are logged in together and each
   process's peak RSS (the kernel's high-water mark);
2. closed loop: CLOSED bots in a closed loop (40 ms think) through the main
   portal only, then the same through every portal, against the same game
   in the same run: commands/s and latency.

    cargo build --release -p tavern-loadtest -p tavern-game-template
    python3 loadtest/scripts/several_portals.py target/release/tavern \\
        target/release/tavern-loadtest [PORTALS=4] [SESSIONS=10000] [CLOSED=1000] [CONCURRENCY=100]
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

bin_, tool = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
portals = int(sys.argv[3]) if len(sys.argv) > 3 else 4
sessions = int(sys.argv[4]) if len(sys.argv) > 4 else 10_000
closed = int(sys.argv[5]) if len(sys.argv) > 5 else 1_000
# Log-ins under way at once, per load tool: the four together make as many
# as the suite's sessions scenario (account creation is written at once,
# and SQLite takes one writer at a time).
concurrency = int(sys.argv[6]) if len(sys.argv) > 6 else 100
here = os.path.dirname(os.path.abspath(__file__))
base = open(os.path.join(here, "..", "settings.toml")).read()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(what, cond, patience=60):
    deadline = time.time() + patience
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    sys.exit(f"timed out waiting for {what}")


def runtime(data, name):
    try:
        return json.load(open(os.path.join(data, name)))
    except (OSError, ValueError):
        return None


def peak_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


dir_ = tempfile.mkdtemp(prefix="tavern-portals-")
data = os.path.join(dir_, "data")
link = free_port()
main = os.path.join(dir_, "main.toml")
open(main, "w").write(
    base.replace("[link]\n", f'[link]\nportals = "127.0.0.1:{link}"\n', 1)
    + '\n[game]\ndata_dir = "data"\n'
)
log = open(os.path.join(dir_, "processes.log"), "w")
procs = [subprocess.Popen([bin_, "--settings", main, "start"], stdout=log, stderr=log)]
rt = wait_for("the main portal and its server", lambda: (r := runtime(data, "portal.json")) and r.get("server_pid") and r)
ports = [rt["telnet_ports"][0]]
for i in range(1, portals):
    f = os.path.join(dir_, f"extra-{i}.toml")
    open(f, "w").write(
        base.replace("[portal]\n", f"[portal]\nid = {i}\n", 1).replace(
            "[link]\n", f'[link]\nserver = "127.0.0.1:{link}"\n', 1
        )
        + '\n[game]\ndata_dir = "data"\n'
    )
    procs.append(subprocess.Popen([bin_, "--settings", f, "portal"], stdout=log, stderr=log))
    r = wait_for(f"extra portal {i}", lambda: runtime(data, f"portal-{i}.json"))
    ports.append(r["telnet_ports"][0])
pids = {"portal": rt["portal_pid"], "server": rt["server_pid"]}
for i in range(1, portals):
    pids[f"portal-{i}"] = runtime(data, f"portal-{i}.json")["portal_pid"]
time.sleep(1)  # every extra portal's link is up (the server logs it)

try:
    # 1. Sessions, all logged in at once.
    tools = []
    for i, port in enumerate(ports):
        out = os.path.join(dir_, f"sessions-{i}.json")
        tools.append((out, subprocess.Popen(
            [tool, "run", "--telnet", f"127.0.0.1:{port}", "-n", str(sessions), "-p", "idler",
             "--duration", "15", "--concurrency", str(concurrency), "--quiet", "--json", out],
            stdout=subprocess.DEVNULL, stderr=log)))
    ready = 0
    for out, p in tools:
        p.wait()
        ready += json.load(open(out))["ready"]
    print(f"sessions: {portals} portals x {sessions} bots: {ready} logged in together")
    for label, pid in pids.items():
        print(f"  {label:9} peak RSS {peak_mib(pid):8.1f} MiB")

    # 2. The closed loop through the main portal, then through every portal.
    for label, targets in (("1 portal", ports[:1]), (f"{portals} portals", ports)):
        out = os.path.join(dir_, f"closed-{len(targets)}.json")
        subprocess.run(
            [tool, "run", "--telnet", ",".join(f"127.0.0.1:{p}" for p in targets), "-n", str(closed),
             "-p", "closed", "--think", "40", "--duration", "10", "--concurrency", "200", "--quiet",
             "--json", out], stdout=subprocess.DEVNULL, stderr=log, check=True)
        r = json.load(open(out))
        c = r["commands"]
        lat = c["latency"] or {}
        print(f"closed loop, {closed} bots through {label}: {c['per_s']:.0f} commands/s, "
              f"p50 {lat.get('p50_ms', float('nan')):.2f} ms, p99 {lat.get('p99_ms', float('nan')):.2f} ms, "
              f"lost {c['lost']}, ready {r['ready']}")
finally:
    subprocess.run([bin_, "--settings", main, "stop"], stdout=subprocess.DEVNULL, stderr=log)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
    print(f"(logs and reports in {dir_})")
