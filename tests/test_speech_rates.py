"""What speech bills per transcript token, learnt per speaker from usage reports."""

from __future__ import annotations

import random

import pytest

from ctxmgr.speech_rates import SpeechRates


@pytest.mark.unit
def test_two_speakers_rates_are_told_apart_from_what_whole_contexts_billed() -> None:
    # OpenAI's realtime billing: a token per 100 ms of the caller, per 50 ms of the model
    rng = random.Random(7)
    rates = SpeechRates()
    user = agent = 0
    for _ in range(30):  # a call growing a turn at a time, each report the whole context
        user += rng.randint(5, 40)
        agent += rng.randint(10, 80)
        rates.observe(user_tokens=user, agent_tokens=agent, audio_tokens=round(2.4 * user + 4.9 * agent))
    assert rates.user == pytest.approx(2.4, abs=0.02)
    assert rates.agent == pytest.approx(4.9, abs=0.02)


@pytest.mark.unit
def test_until_the_reports_differ_in_their_mix_one_rate_serves_both() -> None:
    rates = SpeechRates()
    assert rates.user == rates.agent == 1.0  # nothing reported: a transcript token bills one
    rates.observe(user_tokens=100, agent_tokens=200, audio_tokens=1_200)
    assert rates.user == rates.agent == pytest.approx(4.0)
    rates.observe(user_tokens=200, agent_tokens=400, audio_tokens=2_400)  # the same mix
    assert rates.user == rates.agent == pytest.approx(4.0)
    rates.observe(user_tokens=0, agent_tokens=0, audio_tokens=500)  # nothing spoken: ignored
    rates.observe(user_tokens=300, agent_tokens=100, audio_tokens=0)
    assert rates.user == rates.agent == pytest.approx(4.0)


@pytest.mark.unit
def test_rates_stay_within_bounds_and_follow_a_change() -> None:
    rates = SpeechRates()
    rates.observe(user_tokens=1, agent_tokens=1, audio_tokens=9_000)  # transcripts lost their words
    assert rates.user == rates.agent == 20.0
    rates = SpeechRates()
    for n in range(1, 40):
        rates.observe(user_tokens=10 * n, agent_tokens=7 * n + n * n, audio_tokens=2 * 10 * n + 5 * (7 * n + n * n))
    for n in [*range(1, 40)] * 3:  # the provider now bills the agent's speech at 3: old reports fade
        rates.observe(user_tokens=10 * n, agent_tokens=7 * n + n * n, audio_tokens=2 * 10 * n + 3 * (7 * n + n * n))
    assert rates.user == pytest.approx(2.0, abs=0.05) and rates.agent == pytest.approx(3.0, abs=0.05)
    rates.observe_ratio(0.2)  # growth without audio figures: one ratio, bounded, averaged in
    assert rates.user == pytest.approx(0.8 * 2.0 + 0.2 * 1.0, abs=0.05)
    with pytest.raises(ValueError, match="decay"):
        SpeechRates(decay=0)
