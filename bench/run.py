"""``make bench``: every workload at one scale, one table, ``bench/results/latest.json``.

    .venv/bin/python -m bench.run                       # small: minutes, counts lowered
    .venv/bin/python -m bench.run --scale full          # the issue's sizes, ~1 h, restarts
                                                        # PostgreSQL (see bench.fault_run)
    .venv/bin/python -m bench.run --scale smoke --out F # seconds: the test suite's smoke

Each figure stands beside its ceiling, measured in the same run on the same stack: the inbound
webhook beside one bare INSERT behind the same gunicorn, the outbox drain beside the same
Twilio SDK call plus one INSERT per message, the slot file (whole, and 304 to a poller's
If-None-Match) beside the same stack answering a constant of the same size, Stripe Checkout
through the SDK beside bare POSTs to the same fake Stripe. The fault run covers texts (fake
Twilio) and emails (fake SendGrid). Scratch databases are dropped and recreated
(``--database-url``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import checkout_burst, dispatch_throughput, fault_run, inbound_webhook, slot_file_storm
from bench.common import ROOT, fresh_database

SCALES: dict[str, dict[str, Any]] = {
    "smoke": {"inbound": 20, "inbound_steps": (2, 8), "drain": 20, "drain_workers": (1,),
              "fault": 30, "kills": 1, "slot_requests": 30, "pg_restart": False,
              "fhir_runs": 0, "checkouts": 20},
    "small": {"inbound": 500, "inbound_steps": (1, 2, 4, 8, 16), "drain": 1000,
              "drain_workers": (1, 2, 4), "fault": 600, "kills": 3, "slot_requests": 1000,
              "pg_restart": False, "fhir_runs": 20, "checkouts": 500},
    "full": {"inbound": 1000, "inbound_steps": (1, 2, 4, 8, 16, 32), "drain": 100_000,
             "drain_workers": (1, 2, 4), "fault": 20_000, "kills": 10, "slot_requests": 5000,
             "pg_restart": True, "fhir_runs": 100, "checkouts": 5000},
}


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}",
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def run(scale: str, database_url: str) -> dict[str, Any]:
    sizes = SCALES[scale]
    rows: list[dict[str, Any]] = []

    def row(what: str, result: float, ceiling: float | None, unit: str, **extra: Any) -> None:
        rows.append({"what": what, "result": round(result, 1), "unit": unit,
                     "ceiling": None if ceiling is None else round(ceiling, 1),
                     "of_ceiling": None if not ceiling else round(result / ceiling, 2),
                     **extra})

    inbound = inbound_webhook.measure(fresh_database(database_url),
                                      requests_count=sizes["inbound"],
                                      steps=sizes["inbound_steps"], patients=50)
    row("inbound webhook storm (peak of a rising rate)", inbound["req_per_s"],
        inbound["ceiling_req_per_s"], "req/s", p50_ms=round(inbound["p50_ms"], 1),
        p99_ms=round(inbound["p99_ms"], 1), routed_per_s=round(inbound["routed_per_s"], 1))
    for workers in sizes["drain_workers"]:
        url = fresh_database(database_url)
        sent = dispatch_throughput.dispatch(url, messages=sizes["drain"], workers=workers,
                                            latency=0.0)
        ceiling = dispatch_throughput.ceiling(url, messages=sizes["drain"], workers=workers,
                                              latency=0.0)
        row(f"outbox drain, {workers} worker(s)", sent, ceiling, "messages/s")
    storm = slot_file_storm.measure(fresh_database(database_url),
                                    requests_count=sizes["slot_requests"], clients=20)
    row("slot file (SMART Scheduling Links, 20 clients)", storm["req_per_s"],
        storm["ceiling_req_per_s"], "req/s", p95_ms=round(storm["p95_ms"], 1),
        bytes=int(storm["file_bytes"]))
    row("slot file, If-None-Match (304)", storm["304_req_per_s"],
        storm["ceiling_304_req_per_s"], "req/s", p95_ms=round(storm["304_p95_ms"], 1))
    faults = fault_run.fault_run(fresh_database(database_url), messages=sizes["fault"],
                                 workers=2, kills=sizes["kills"], faults=0.2,
                                 pg_restart=sizes["pg_restart"])
    row("fault run: 20% provider faults, worker kills"
        + (", PostgreSQL restart" if sizes["pg_restart"] else ""),
        faults["live_drain_seconds"], None, "s live drain", lost=faults["lost"],
        duplicated=faults["duplicated"], emails=faults["emails"])
    stripe = checkout_burst.measure(sessions=sizes["checkouts"], clients=4, faults=0.2)
    row("Stripe checkout, fake Stripe, 20% faults, 4 clients", stripe["per_second"],
        stripe["ceiling_per_second"], "sessions/s", unaccounted=stripe["unaccounted"])
    result = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "scale": scale,
              "machine": machine(), "rows": rows, "inbound_steps": inbound["steps"],
              "fault_run": faults, "checkout": stripe}
    if sizes["fhir_runs"]:
        from bench import fhir_api

        result["fhir_api"] = fhir_api.measure(database_url + "_fhir", runs=sizes["fhir_runs"])
    return result


def table(result: dict[str, Any]) -> str:
    lines = [f"bench ({result['scale']}, {result['when']}, {result['machine']['cpus']} CPUs, "
             f"Python {result['machine']['python']}, load {result['machine']['load_average']})",
             f"| {'what':52} | {'result':>22} | {'ceiling':>12} | {'of ceiling':>10} |",
             f"|{'-' * 54}|{'-' * 24}|{'-' * 14}|{'-' * 12}|"]
    for row in result["rows"]:
        extra = ", ".join(f"{k} {v}" for k, v in row.items()
                          if k not in ("what", "result", "unit", "ceiling", "of_ceiling"))
        shown = f"{row['result']:,} {row['unit']}" + (f" ({extra})" if extra else "")
        ceiling = "" if row["ceiling"] is None else f"{row['ceiling']:,}"
        share = "" if row["of_ceiling"] is None else str(row["of_ceiling"])
        lines.append(f"| {row['what']:52} | {shown:>22} | {ceiling:>12} | {share:>10} |")
    return "\n".join(lines)


def main() -> None:
    main_with(sys.argv[1:])


def main_with(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--database-url",
                        default="postgresql://postgres@127.0.0.1:5432/frontdesk_bench")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)
    result = run(args.scale, args.database_url)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    faults, stripe = result["fault_run"], result["checkout"]
    if faults["lost"] or faults["duplicated"]:
        sys.exit(f"fault run: lost {faults['lost']}, duplicated {faults['duplicated']}")
    if stripe["unaccounted"] or stripe["unexplained_refusals"]:
        sys.exit(f"checkout burst: {stripe['unaccounted']} sessions unaccounted for, "
                 f"{stripe['unexplained_refusals']} refusals without a fault")


if __name__ == "__main__":
    main()
