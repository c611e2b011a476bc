#!/usr/bin/env python3
"""Builds the performance table from the raw outputs scripts/bench-all.sh leaves in a directory.

Each row: what was measured, the figure, the target and whether it is met. A row whose output is missing says so
instead of inventing a figure.
"""

import datetime
import json
import pathlib
import re
import sys

out = pathlib.Path(sys.argv[1])
rows = []


def text(name):
    path = out / f"{name}.txt"
    return path.read_text() if path.exists() else ""


def row(what, figure, target="", met=None):
    verdict = "" if met is None else ("met" if met else "**not met**")
    rows.append((what, figure, target, verdict))


def criterion(output):
    """{benchmark id: median in microseconds} from criterion's report on stdout."""
    results, name = {}, None
    units = {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3, "s": 1e6}
    for line in output.splitlines():
        found = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
        if found and name:
            results[name] = float(found.group(1)) * units[found.group(2)]
        elif line.strip() and not line.startswith(" ") and "time:" not in line:
            name = line.split("  ")[0].strip()
        if found and line.split("time:")[0].strip():
            results[line.split("time:")[0].strip()] = float(found.group(1)) * units[found.group(2)]
    return results


def json_lines(output):
    lines = []
    for line in output.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass
    return lines


def missing(what, name):
    row(what, f"no output (see target/bench/{name}.log)")


# The engine.
engine = criterion(text("engine"))
engine_rows = [k for k in engine if k.startswith("available_slots 60 days")]
for key in sorted(engine_rows):
    order = "in store order (by start)" if "store order" in key else "in random order"
    row(f"engine: 60-day window, 500 appointments, 2,000 busy intervals, {order}", f"{engine[key]:.1f} µs per call",
        "< 40 µs", engine[key] < 40)
if not engine_rows:
    missing("engine", "engine")

# The embedded store's cost as the business's future fills.
window = criterion(text("window_cost"))


def flat_beyond_window(cost):
    """Growing the future beyond the window must not cost more: busy events 1,000 → 10,000 and appointments
    1,000 → 5,000 each within 1.5 ×. (From 0 to 1,000 busy events, and from none to 1,000 appointments, events land
    inside the window's reach too, which the answer has to read.)"""
    pairs = [("busy events/1000", "busy events/10000"), ("appointments/1000", "appointments/5000")]
    return all(cost[large] < 1.5 * cost[small] for small, large in
               [(next(k for k in cost if k.endswith(a)), next(k for k in cost if k.endswith(b))) for a, b in pairs])


FLAT = "flat as the future beyond the window grows (busy 1k → 10k, appointments 1k → 5k, each < 1.5 ×)"
if window:
    figures = ", ".join(f"{k.split('/', 1)[-1]}: {v:.0f} µs" for k, v in window.items())
    row("embedded store: a 1-day availability answer (no HTTP) as future busy events, then appointments, grow",
        figures, FLAT, flat_beyond_window(window))
else:
    missing("embedded store window cost", "window_cost")

# Holds on the embedded store.
for line in text("holds").splitlines():
    if line.strip():
        row("holds, embedded store", line.strip())

# DynamoDB Local.
# The bench counts the API key's GetItem too; the target counts what the booking itself asks.
dynamodb_targets = {"book": ("≤ 4 requests after the key, p99 < 40 ms", lambda r, p99: r - 1 <= 4 and p99 < 40),
                    "60": ("p99 < 20 ms", lambda r, p99: p99 < 20),
                    "anyone": ("p99 < 40 ms", lambda r, p99: p99 < 40)}
for line in text("dynamodb").splitlines():
    found = re.match(r"(.+?)\s+calls\s+(\d+)\s+(?:DynamoDB )?requests/call\s+([\d.]+)\s+p50\s+([\d.]+) ms\s+"
                     r"p90\s+([\d.]+) ms\s+p99\s+([\d.]+) ms", line)
    if not found:
        continue
    name, _, requests, p50, _, p99 = found.groups()
    if name.startswith("1-day, "):
        continue
    requests, p50, p99 = float(requests), float(p50), float(p99)
    target, met = "", None
    if name.strip().startswith("book"):
        target, check = dynamodb_targets["book"]
        met = check(requests, p99)
    elif name.strip().startswith("availability") and "60" in name:
        target, check = dynamodb_targets["60"]
        met = check(requests, p99)
    elif name.strip().startswith("find_available_times") and "10 members" in name:
        target, check = dynamodb_targets["anyone"]
        met = check(requests, p99)
    row(f"DynamoDB Local: {name.strip()}", f"{requests:g} requests; p50 {p50:.1f} ms, p99 {p99:.1f} ms", target, met)

# DynamoDB Local's window cost, the same question as the embedded store's.
window_lines = [re.match(r"(1-day, .+?)\s+calls\s+\d+\s+(?:DynamoDB )?requests/call\s+([\d.]+)\s+p50\s+([\d.]+) ms\s+"
                         r"p90\s+[\d.]+ ms\s+p99\s+([\d.]+) ms", line) for line in text("dynamodb").splitlines()]
window_lines = [found.groups() for found in window_lines if found]
if window_lines:
    row("DynamoDB Local: a 1-day availability answer (no HTTP) as future busy events, then appointments, grow",
        "; ".join(f"{name.removeprefix('1-day, ')}: {float(requests):g} requests, p50 {float(p50):.1f} ms, "
                  f"p99 {float(p99):.1f} ms" for name, requests, p50, p99 in window_lines),
        FLAT + ", by p50",
        flat_beyond_window({"{1}/{0}".format(*re.search(r"(\d+) future (busy events|appointments)", name).groups()):
                            float(p50) for name, _, p50, _ in window_lines}))

# Cold starts, and each function's peak memory (what the template's MemorySize follows from).
cold = [line for line in text("cold_start").splitlines() if line.startswith("| `")]
peaks = []
for line in cold:
    cells = [c.strip() for c in line.strip("|").split("|")]
    function, event, init, first, peak = cells[0], cells[1], cells[2], cells[3], cells[5]
    init_p50 = float(init.split("/")[0])
    first_p50 = float(first.split("/")[0])
    peaks.append(float(peak))
    target = "init < 50 ms" + (", first invocation < 100 ms" if "availability" in function else "")
    met = init_p50 < 50 and ("availability" not in function or first_p50 < 100)
    row(f"cold start {function} ({event})",
        f"init p50/max {init} ms; first invocation {first} ms; peak memory {peak} MiB", target, met)
if cold:
    row("Lambda memory: the largest peak resident memory of any function over its cold starts",
        f"{max(peaks):.1f} MiB", "every MemorySize in infra/template.yaml ≥ 4 × this", None)
else:
    missing("cold starts", "cold_start")

# The deployment zips, as the README's deploy step builds them (arm64, cargo-lambda).
zips = [[c.strip() for c in line.strip("|").split("|")] for line in text("lambda_zips").splitlines()
        if line.startswith("| `")]
# The issue asked to keep them at the 5–6 MB they were when it was filed; the dashboard and agent functions came
# after, with the owner's pages and the MCP SDK, and are held to the README's earlier limit.
ADDED_SINCE = {"`dashboard`", "`agent-api`"}
if zips:
    for functions, target, limit in (
            ([z for z in zips if z[0] not in ADDED_SINCE], "each ≤ 6 MB (5–6 MB when the issue was filed)", 6),
            ([z for z in zips if z[0] in ADDED_SINCE], "each ≤ 8 MB (added since the issue)", 8)):
        row("Lambda zips (`cargo lambda build --release --arm64 --output-format zip`): zip / unzipped bootstrap, MB",
            "; ".join(f"{function} {zipped} / {unzipped}" for function, zipped, unzipped in functions),
            target, all(float(zipped) <= limit for _, zipped, _ in functions))
else:
    missing("Lambda zips", "lambda_zips")

# The same functions under the CPU share of a memory setting: what the template's MemorySize is chosen from.
for memory in (128, 256, 512):
    lines = [line for line in text(f"cold_start_{memory}mb").splitlines() if line.startswith("| `")]
    if not lines:
        continue
    figures = []
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        figures.append(f"{cells[0]} {cells[2].split('/')[0].strip()} / {cells[3].split('/')[0].strip()}")
    row(f"cold start at the CPU share of a {memory} MB function (1,769 MB = one vCPU): init / first invocation "
        "p50 ms", "; ".join(figures))


# The local server under wrk.
def wrk(output):
    figures = {}
    for label, pattern in [("rps", r"Requests/sec:\s+([\d.]+)"), ("p50", r"50%\s+([\d.]+)(\w+)"),
                           ("p99", r"99%\s+([\d.]+)(\w+)"), ("hwm", r"VmHWM:\s+(\d+) kB"),
                           ("rss", r"VmRSS:\s+(\d+) kB")]:
        found = re.search(pattern, output)
        if found:
            value = float(found.group(1))
            if label in ("p50", "p99"):
                value *= {"us": 1e-3, "ms": 1.0, "s": 1e3}[found.group(2)]
            figures[label] = value
    return figures


for name, what, target in [("load_1_day_50", "1-day windows, 50 clients", "p99 < 5 ms; peak memory < 60 MiB"),
                           ("load_1_day_50_wrk2", "1-day windows, 50 clients, two wrk threads", ""),
                           ("load_1_day_8", "1-day windows, 8 clients", ""),
                           ("load_1_day_1", "1-day windows, 1 client", ""),
                           ("load_7_days_50", "7-day windows, 50 clients", "")]:
    figures = wrk(text(name))
    if "rps" not in figures:
        missing(f"local server {what}", name)
        continue
    met = None
    if target:
        met = figures["p99"] < 5 and figures.get("hwm", 1e9) / 1024 < 60
    row(f"local server, GET /v1/availability, {what} (wrk on the same two cores)",
        f"{figures['rps']:,.0f} req/s; p50 {figures['p50']:.2f} ms, p99 {figures['p99']:.2f} ms; "
        f"resident memory peak {figures.get('hwm', 0) / 1024:.0f} MiB, after {figures.get('rss', 0) / 1024:.0f} MiB",
        target, met)

# The heavier memory run: 3,000 busy events synced from a calendar, then availability under load.
memory = json_lines(text("local_memory"))
if memory:
    figures = memory[0]
    peak, after = figures["hwm_kib"] / 1024, figures["rss_kib"] / 1024
    row(f"local server memory after syncing {figures['events']:,} busy events from the Google emulator "
        f"(in {figures['sync_seconds']:.0f} s), then GET /v1/availability, 1-day windows, 50 clients for 10 s",
        f"resident memory peak {peak:.0f} MiB, after {after:.0f} MiB (after the sync alone: "
        f"{figures['synced_rss_kib'] / 1024:.0f} MiB); {figures['requests_per_second']:,.0f} req/s",
        "peak memory < 60 MiB", peak < 60)
else:
    missing("local server memory after syncing 3,000 busy events", "local_memory")

# Sync and freshness.
for result in json_lines(text("sync_throughput")):
    row(f"sync throughput, {result['provider']} emulator, {result['jobs']} appointment jobs",
        f"{result['jobs_per_second']:.0f} jobs/s; per job p50 {result['job_p50_ms']:.0f} ms, "
        f"p99 {result['job_p99_ms']:.0f} ms")
for result in json_lines(text("inbound_freshness")):
    added, deleted = result["added_to_busy"], result["deleted_to_free"]
    row(f"inbound freshness, {result['provider']}, {result['changes']} changes",
        f"added→busy p50 {added['p50_ms']:.1f} ms, p99 {added['p99_ms']:.1f} ms; deleted→free p50 "
        f"{deleted['p50_ms']:.1f} ms, p99 {deleted['p99_ms']:.1f} ms", "p50 < 1 s, p99 < 2 s",
        added["p50_ms"] < 1000 and added["p99_ms"] < 2000 and deleted["p50_ms"] < 1000 and deleted["p99_ms"] < 2000)

# The agent's tools.
for name in ("agent_embedded", "agent_dynamodb"):
    results = json_lines(text(name))
    if not results:
        missing(f"agent tools ({name})", name)
        continue
    store = results[0]["store"]
    figures = "; ".join(f"`{r['tool']}` {r['p50_ms']:.1f} / {r['p99_ms']:.1f}" for r in results)
    find = next((r for r in results if r["tool"].startswith("find_available_times")), None)
    limit = 15 if store == "embedded" else 60
    row(f"agent tools through /mcp, {store} store, p50 / p99 ms", figures,
        f"find_available_times p99 < {limit} ms", find is not None and find["p99_ms"] < limit)

print(f"Measured {datetime.date.today().isoformat()} with `scripts/bench-all.sh`.\n")
print("| what | figure | target | |")
print("|---|---|---|---|")
for what, figure, target, verdict in rows:
    print(f"| {what} | {figure} | {target} | {verdict} |")
