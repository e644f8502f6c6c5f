"""The fleet-wide send gate: slots one interval apart for every sender, pauses for all."""

from __future__ import annotations

import pytest

from service.email.gate import Gate


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def test_senders_in_turn_get_slots_one_interval_apart(ctx):
    clock = Clock()
    a, b = Gate("smtp", 10.0, clock), Gate("smtp", 10.0, clock)
    slots = [gate.reserve() for gate in (a, b, a, b, a)]
    assert [round(s - clock.now, 6) for s in slots] == [0.0, 0.1, 0.2, 0.3, 0.4]
    other = Gate("sendgrid", 10.0, clock)  # per backend
    assert other.reserve() == clock.now


def test_an_unused_slot_is_given_back(ctx):
    clock = Clock()
    gate = Gate("smtp", 4.0, clock)
    first = gate.reserve()
    second = gate.reserve()
    gate.give_back(second)
    assert gate.reserve() == second
    assert second - first == 0.25


def test_a_pause_holds_every_sender_and_the_cap_resumes_after_it(ctx):
    clock = Clock()
    a, b = Gate("smtp", 10.0, clock), Gate("smtp", None, clock)
    a.pause(30, "smtp_421")
    assert b.pause_left() == 30  # an uncapped sender sees the pause too
    assert a.reserve() == clock.now + 30
    clock.now += 31
    assert b.pause_left() == 0
    assert a.reserve() == clock.now
