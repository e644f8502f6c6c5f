"""The benchmarks' own arithmetic and parsing (the benchmarks themselves live in bench/)."""

import pytest

from bench.loadgen import parse_wrk
from bench.stats import median, pair_ratios, ratio, rotation, spread

WRK_OUTPUT = """\
Running 2s test @ http://127.0.0.1:35415/healthz
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    14.25ms   29.37ms 366.29ms   95.58%
    Req/Sec     0.89k   629.04     1.98k    61.90%
  1862 requests in 2.10s, 380.23KB read
Requests/sec:    886.16
Transfer/sec:    180.96KB
"""


def test_parse_wrk_reads_requests_and_duration():
    result = parse_wrk(WRK_OUTPUT)
    assert (result.requests, result.seconds, result.errors) == (1862, 2.10, 0)
    assert result.rps == pytest.approx(1862 / 2.10)


def test_parse_wrk_counts_failures_but_not_read_errors():
    failing = WRK_OUTPUT.replace(
        "Requests/sec",
        "  Socket errors: connect 1, read 1862, write 2, timeout 3\n"
        "  Non-2xx or 3xx responses: 4\nRequests/sec",
    )
    assert parse_wrk(failing).errors == 1 + 2 + 3 + 4


def test_parse_wrk_converts_units_and_rejects_garbage():
    assert parse_wrk("10 requests in 500.00ms, 1KB read").seconds == pytest.approx(0.5)
    with pytest.raises(ValueError):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


def test_ratios_pair_rounds_in_order():
    assert pair_ratios([90, 180], [100, 200]) == [0.9, 0.9]
    assert ratio(median([1, 3, 2]), 4) == 0.5
    with pytest.raises(ValueError):
        pair_ratios([1], [1, 2])
    with pytest.raises(ZeroDivisionError):
        ratio(1, 0)


def test_spread_is_the_interquartile_range():
    assert spread([1, 2, 3, 4, 5]) == (2, 4)
    assert spread([7]) == (7, 7)


def test_rotation_gives_every_contender_every_position():
    orders = [rotation(["a", "b", "c"], i) for i in range(3)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    assert rotation(["a", "b"], 5) == ["b", "a"]
