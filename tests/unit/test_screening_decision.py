"""What counts as a screening decision: the Prefect form's defaults do not."""

from __future__ import annotations

from mentorflow.intake.screening import decides_anything

WAITING = ["m_a", "m_b"]


def test_the_forms_defaults_decide_nothing():
    assert not decides_anything(WAITING, [], [], False)


def test_ids_of_nobody_who_waits_decide_nothing():
    assert not decides_anything(WAITING, ["m_x"], ["m_y"], False)


def test_one_pending_id_or_approve_all_is_a_decision():
    assert decides_anything(WAITING, ["m_x", "m_b"], [], False)
    assert decides_anything(WAITING, [], ["m_a"], False)
    assert decides_anything(WAITING, [], [], True)


def test_nobody_waiting_leaves_nothing_to_decide():
    assert not decides_anything([], [], [], True)
