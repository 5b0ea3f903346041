"""The Poll aggregate: one vote per viewer, changes only when allowed, nothing after the close; replay = live."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.poll import AlreadyVoted, Poll, PollClosed, UnknownPollOption

T0 = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)


def new_poll(allow_change: bool) -> Poll:
    return Poll.open(
        id=uuid.uuid4(),
        now=T0,
        stream_id=str(uuid.uuid4()),
        question="Colour?",
        question_bn="রং?",
        options=[{"text": "Red"}, {"text": "Blue"}, {"text": "Green"}],
        duration_seconds=60,
        allow_change=allow_change,
        opened_by="host",
    )


@settings(max_examples=25, deadline=None)
@given(
    allow=st.booleans(),
    votes=st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from(["o1", "o2", "o3"])), max_size=30),
)
def test_counts_are_one_vote_per_viewer_and_replay_agrees(allow: bool, votes: list[tuple[str, str]]) -> None:
    poll, expected = new_poll(allow), {}
    for user, option in votes:
        try:
            poll.vote(user_id=user, option_id=option, now=T0 + timedelta(seconds=1))
            expected[user] = option
        except AlreadyVoted:
            assert not allow and user in expected and expected[user] != option
    assert poll.total_votes == len(expected) == sum(poll.counts.values())
    assert poll.counts == {o: sum(1 for v in expected.values() if v == o) for o in ("o1", "o2", "o3")}
    replayed = None
    for e in poll.collect_events():
        replayed = e.mutate(replayed)
    assert replayed is not None and replayed.counts == poll.counts and replayed.votes == poll.votes


def test_refusals_change_nothing() -> None:
    poll = new_poll(False)
    with pytest.raises(UnknownPollOption):
        poll.vote(user_id="u", option_id="o9", now=T0)
    with pytest.raises(PollClosed):
        poll.vote(user_id="u", option_id="o1", now=T0 + timedelta(seconds=60))
    assert poll.close(now=T0 + timedelta(seconds=61), reason="deadline") and not poll.close(now=T0, reason="x")
    with pytest.raises(PollClosed):
        poll.vote(user_id="u", option_id="o1", now=T0 + timedelta(seconds=2))
    assert poll.total_votes == 0 and len(poll.pending_events) == 2
