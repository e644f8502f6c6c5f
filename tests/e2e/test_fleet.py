"""Fleet-true metrics, proven with real processes (docs/RUNBOOK.md, "Deployment shapes").

One scenario, shared by three tests: three web instances (one Gunicorn
worker each, their own multiprocess directory and DYNO, PostgreSQL) behind
HAProxy round-robin; a Prometheus scraping only through HAProxy every second;
each instance's Prometheus agent remote-writing to a central Prometheus.
Requests and signed webhooks (some rejected) go through the proxy; one
instance's worker is SIGKILLed, two others recycle every ~40 requests
(GUNICORN_MAX_REQUESTS); then a burst of failing webhooks hits one instance.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests
from sqlalchemy import Engine

from tests.conftest import _clean
from tests.e2e import fleet
from tests.helpers import free_port, process_env, samples, wait_for_http, wait_until
from tests.ops.kit import ALERTS, shorten_for
from tests.webhooks import stripe_events as se

pytestmark = [pytest.mark.e2e, pytest.mark.single_backend]

METRICS_TOKEN = "fleet-metrics-token-8c1f0b6e2d4a9357c0de"
ADMIN_TOKEN = "fleet-admin-token-51e7a3c9b2d04f68aa19"
DYNOS = ("web.1", "web.2", "web.3")
READYZ_PER_PHASE = 75
WEBHOOK = "/v1/webhooks/stripe"
BURST = 16
COUNTER_SUFFIXES = ("_total", "_bucket", "_count", "_sum")
TRIGGER = (
    "CREATE FUNCTION fleet_outbox_offline() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'outbox offline'; END $$",
    "CREATE TRIGGER fleet_outbox_offline BEFORE INSERT ON email_message "
    "FOR EACH ROW EXECUTE FUNCTION fleet_outbox_offline()",
)
UNTRIGGER = (
    "DROP TRIGGER IF EXISTS fleet_outbox_offline ON email_message",
    "DROP FUNCTION IF EXISTS fleet_outbox_offline()",
)


@dataclass
class Run:
    instances: list[fleet.Instance]
    router: fleet.Prometheus
    central: fleet.Prometheus
    proxy: str
    sent: Counter = field(default_factory=Counter)  # "readyz", "result:<r>", "type:<t>"
    silent_before_burst: dict[str, list] = field(default_factory=dict)
    direct_scrapes: list[dict] = field(default_factory=list)  # web.2's, during the run
    killed: int = 0


def _instance_env(migrated: str, tmp: Path, dyno: str, port: int, central: str) -> dict:
    return process_env(
        APP_ENV="production",
        DATABASE_URL=migrated,
        METRICS_TOKEN=METRICS_TOKEN,
        ADMIN_TOKEN=ADMIN_TOKEN,
        STRIPE_WEBHOOK_SECRET=se.SECRET,
        EMAIL_BACKEND="smtp",
        SMTP_URL=f"smtp://127.0.0.1:{free_port()}",
        PROMETHEUS_MULTIPROC_DIR=str(tmp / f"prom-{dyno}"),
        DYNO=dyno,
        PORT=str(port),
        WEB_CONCURRENCY="1",
        # web.1 keeps its worker (it gets SIGKILLed); the others recycle often.
        GUNICORN_MAX_REQUESTS="0" if dyno == "web.1" else "40",
        REMOTE_WRITE_URL=f"{central}/api/v1/write",
        AGENT_PORT=str(free_port()),
        AGENT_SCRAPE_INTERVAL="1s",
    )


def _start_instances(migrated: str, tmp: Path, central: str) -> list[fleet.Instance]:
    instances = []
    for dyno in DYNOS:
        port = free_port()
        env = _instance_env(migrated, tmp, dyno, port, central)
        process = fleet.Process(
            ["bash", "-c", f"exec {fleet.agent_web_command()}"], tmp / f"{dyno}.log", env
        )
        instances.append(fleet.Instance(dyno, port, tmp / f"prom-{dyno}", process))
    for instance in instances:
        wait_for_http(f"{instance.base}/healthz", timeout=60)
    return instances


def _router_prometheus(tmp: Path, proxy_port: int) -> fleet.Prometheus:
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "billing-notifier",
                "honor_labels": True,
                "metrics_path": "/metrics",
                "params": {"token": [METRICS_TOKEN]},
                "static_configs": [{"targets": [f"127.0.0.1:{proxy_port}"]}],
            }
        ],
    }
    rules = shorten_for(ALERTS.read_text(), "1s")
    return fleet.prometheus(tmp / "router-prometheus", free_port(), config, rules)


def _get(url: str) -> int:
    return requests.get(url, headers={"Connection": "close"}, timeout=30).status_code


def _post(url: str, payload: bytes, header: str) -> int:
    headers = {"Stripe-Signature": header, "Content-Type": "application/json"}
    headers["Connection"] = "close"
    return requests.post(url, data=payload, headers=headers, timeout=30).status_code


def _traffic(run: Run, readyz: int) -> None:
    """`readyz` GETs and a mix of webhooks through the proxy, fresh connections."""
    jobs: list[tuple] = [("get",)] * readyz
    events = [se.event("customer.created", se.customer()) for _ in range(6)]
    for evt in events:
        jobs.append(("hook", se.body(evt), "processed"))
    for evt in events[:2]:
        jobs.append(("hook", se.body(evt), "duplicate"))
    jobs.append(("hook", se.body(se.event("product.created", {"id": se.uid("prod")})), "ignored"))
    jobs.append(("bad", se.body(se.event("customer.created", se.customer())), "rejected"))

    def send(job: tuple) -> None:
        if job[0] == "get":
            assert _get(f"{run.proxy}/readyz") == 200
            run.sent["readyz"] += 1
            return
        header = se.sign(job[1], "whsec_not_the_secret" if job[0] == "bad" else se.SECRET)
        status = _post(f"{run.proxy}{WEBHOOK}", job[1], header)
        assert status == (400 if job[0] == "bad" else 200), status
        run.sent[f"result:{job[2]}"] += 1
        if job[0] == "bad":
            run.sent["type:invalid_signature"] += 1

    # Duplicates after their originals: originals first, the rest interleaved.
    first, rest = jobs[readyz : readyz + 6], jobs[:readyz] + jobs[readyz + 6 :]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, first))
        list(pool.map(send, rest))


def _watch(run: Run, instance: fleet.Instance, stop: threading.Event) -> None:
    """Scrape one instance directly, a few times a second, keeping every answer."""
    while not stop.wait(0.3):
        try:
            response = requests.get(
                f"{instance.base}/metrics", params={"token": METRICS_TOKEN}, timeout=10
            )
        except requests.RequestException:
            continue
        if response.status_code == 200:
            run.direct_scrapes.append(samples(response.text))


def _sql(migrated: str, statements: tuple[str, ...]) -> None:
    with psycopg.connect(migrated, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _burst(run: Run, migrated: str, instance: fleet.Instance) -> None:
    """Failing webhooks (500) against one instance, spread over a few scrapes so
    Prometheus sees the counters climb rather than appear."""
    _sql(migrated, TRIGGER)
    try:
        for _ in range(BURST):
            payload = se.body(se.event("invoice.paid", se.invoice(se.uid("cus"))))
            assert _post(f"{instance.base}{WEBHOOK}", payload, se.sign(payload)) == 500
            run.sent["result:failed"] += 1
            run.sent["type:processing_error"] += 1
            time.sleep(0.35)
    finally:
        _sql(migrated, UNTRIGGER)


def _kill_worker(instance: fleet.Instance) -> int:
    workers = wait_until(
        lambda: fleet.gunicorn_workers(instance.process.popen.pid), 20, message="a worker"
    )
    victim = sorted(workers)[0]
    os.kill(victim, signal.SIGKILL)
    wait_until(
        lambda: (w := fleet.gunicorn_workers(instance.process.popen.pid)) and victim not in w,
        30,
        message="a new worker after SIGKILL",
    )
    return victim


def _scenario(run: Run, migrated: str) -> None:
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(run, run.instances[1], stop), daemon=True)
    watcher.start()
    try:
        _traffic(run, READYZ_PER_PHASE)
        # The buffered webhook counts reach the database within a second
        # (fleet_counters.FLUSH_INTERVAL_SECONDS); a SIGKILL after that loses none.
        time.sleep(1.5)
        run.killed = _kill_worker(run.instances[0])
        _traffic(run, READYZ_PER_PHASE)
        _await_totals(run)
        run.silent_before_burst = {
            name: run.router.alerts(name) for name in ("HTTP5xxRatioHigh", "WebhookErrorsSustained")
        }
        _burst(run, migrated, run.instances[2])
        _await_totals(run)
    finally:
        stop.set()
        watcher.join(15)


def _await_totals(run: Run) -> None:
    """Until the router's Prometheus has every count sent so far."""
    expected = run.sent["readyz"]
    with contextlib.suppress(AssertionError):  # the tests say what is wrong, if anything
        wait_until(
            lambda: (
                run.router.scalar(_READYZ_TOTAL) == expected
                and _webhook_totals(run.router) == _sent_webhooks(run)
            ),
            20,
            message=f"router Prometheus totals ({run.sent})",
        )


_READYZ_TOTAL = 'sum(http_request_latency_seconds_count{path="/readyz"})'


def _webhook_totals(prom: fleet.Prometheus) -> dict[str, float]:
    totals = {
        f"result:{k}": v
        for k, v in prom.by("max by (result) (webhook_events_total)", "result").items()
    }
    totals.update(
        {f"type:{k}": v for k, v in prom.by("max by (type) (webhook_errors_total)", "type").items()}
    )
    return {k: v for k, v in totals.items() if v}


def _sent_webhooks(run: Run) -> dict[str, float]:
    return {k: float(v) for k, v in run.sent.items() if k != "readyz" and v}


@pytest.fixture(scope="module")
def fleet_run(migrated: str, cleaner: Engine, tmp_path_factory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("fleet")
    processes: list[fleet.Process] = []
    try:
        central_port = free_port()
        central = fleet.prometheus(
            tmp / "central-prometheus",
            central_port,
            {"global": {"evaluation_interval": "1s"}},
            None,
            "--web.enable-remote-write-receiver",
        )
        processes.append(central.process)
        instances = _start_instances(migrated, tmp, central.base)
        processes.extend(i.process for i in instances)
        proxy_port = free_port()
        processes.append(fleet.haproxy(proxy_port, [i.port for i in instances], tmp))
        proxy = f"http://127.0.0.1:{proxy_port}"
        wait_for_http(f"{proxy}/healthz", timeout=20)
        router = _router_prometheus(tmp, proxy_port)
        processes.append(router.process)
        wait_until(lambda: router.scalar("up") == 1, 20, message="router target up")
        run = Run(instances, router, central, proxy)
        _scenario(run, migrated)
        yield run
    finally:
        for process in reversed(processes):
            process.stop()
        _clean(cleaner)


def test_the_agent_procfile_runs_the_procfiles_web_line():
    assert fleet.web_line_is_the_procfiles()


def test_through_a_router_no_counter_resets_and_fleet_totals_are_right(fleet_run: Run):
    prom = fleet_run.router
    # Counter series of every family, each dyno's HTTP ones included...
    names = {n for n in prom.api("label/__name__/values") if n.endswith(COUNTER_SUFFIXES)}
    series = [
        ({**metric, "__name__": name}, value)
        for name in sorted(names)  # resets() drops the name: one query per name
        for metric, value in prom.vector(f'resets({name}{{job="billing-notifier"}}[10m])')
    ]
    assert {"http_request_latency_seconds_count", "webhook_events_total"} <= names
    # ...and not one went backwards, through a SIGKILL and worker recycling.
    assert [(m, v) for m, v in series if v] == []
    assert {m.get("dyno") for m, _ in series if m["__name__"].startswith("http_")} == set(DYNOS)

    assert _webhook_totals(prom) == _sent_webhooks(fleet_run)
    sent = fleet_run.sent["readyz"]
    counted = prom.scalar(_READYZ_TOTAL)
    assert counted is not None and abs(counted - sent) <= 0.1 * sent, (counted, sent)
    by_dyno = prom.by('sum by (dyno) (http_request_latency_seconds_count{path="/readyz"})', "dyno")
    assert set(by_dyno) == set(DYNOS) and all(by_dyno.values())


def test_alerts_fire_on_a_burst_against_one_instance_and_not_without(fleet_run: Run):
    assert fleet_run.silent_before_burst == {"HTTP5xxRatioHigh": [], "WebhookErrorsSustained": []}
    prom = fleet_run.router

    def firing(name: str) -> list[dict]:
        return [a for a in prom.alerts(name) if a["state"] == "firing"]

    wait_until(lambda: firing("HTTP5xxRatioHigh"), 30, message="HTTP5xxRatioHigh firing")
    assert {a["labels"]["path"] for a in firing("HTTP5xxRatioHigh")} == {WEBHOOK}
    wait_until(
        lambda: firing("WebhookErrorsSustained"), 30, message="WebhookErrorsSustained firing"
    )
    assert {a["labels"]["type"] for a in firing("WebhookErrorsSustained")} == {"processing_error"}


def test_agents_push_each_dyno_and_the_fleet_count_is_exact(fleet_run: Run):
    central = fleet_run.central
    sent = fleet_run.sent["readyz"]
    wait_until(
        lambda: central.scalar(_READYZ_TOTAL) == sent,
        30,
        message=f"central Prometheus counts {sent} /readyz",
    )
    # Each agent forwards its own dyno's HTTP series, under its own instance.
    pairs = central.vector("count by (instance, dyno) (http_request_latency_seconds_count)")
    assert {(m["instance"], m["dyno"]) for m, _ in pairs} == {(d, d) for d in DYNOS}
    # The database-backed families arrive from every agent; max across them is the fleet's.
    assert set(central.by("count by (instance) (webhook_events_total)", "instance")) == set(DYNOS)
    wait_until(
        lambda: _webhook_totals(central) == _sent_webhooks(fleet_run),
        20,
        message="webhook totals at the central Prometheus",
    )


def test_recycled_workers_are_folded_and_no_scraped_counter_decreases(fleet_run: Run):
    scrapes = fleet_run.direct_scrapes
    assert len(scrapes) > 20
    decreases = []
    for before, after in itertools.pairwise(scrapes):
        for key, value in before.items():
            is_counter = key[0].endswith(COUNTER_SUFFIXES)
            if is_counter and key in after and after[key] < value:
                decreases.append((key, value, after[key]))
            elif is_counter and key not in after:
                decreases.append((key, value, None))
    assert decreases == []
    # web.2 recycled its worker several times: their files were folded, not kept.
    recycles = fleet_run.instances[1].process.output().count("Autorestarting worker")
    assert recycles >= 2, recycles
    prom_dir = fleet_run.instances[1].multiproc_dir
    files = sorted(p.name for p in prom_dir.glob("histogram_*.db"))
    assert "histogram_archive.db" in files and len(files) <= 2, files  # + the live worker
    # The totals are what was sent, read from the recycled instance itself.
    final = requests.get(
        f"{fleet_run.instances[1].base}/metrics", params={"token": METRICS_TOKEN}, timeout=10
    )
    readyz = sum(
        v
        for (name, labels), v in samples(final.text).items()
        if name == "http_request_latency_seconds_count" and ("path", "/readyz") in labels
    )
    assert readyz == fleet_run.sent["readyz"]
