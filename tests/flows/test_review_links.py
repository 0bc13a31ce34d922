"""Issue 12: a paused run's notice links to its organizer review page (ids only in Prefect)."""

from __future__ import annotations

from flows.pauses import notice


def test_the_notice_names_the_review_page_when_there_is_one():
    review = "https://mentoring.example.org/organizer/demo-mentoring/proposal"
    text = notice(
        "approval of 4 proposed matches of demo-mentoring", "mentorflow approve x", 7, review
    )
    assert f"Review with names (organizer sign-in): {review}" in text
    assert "Review with names" not in notice("approval", "mentorflow approve x", 7)
