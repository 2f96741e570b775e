"""What a provider bills per transcript token of speech, learnt per speaker.

Speech is billed by its duration, and the two speakers differ: people do not say a
word in the same time, and OpenAI's realtime models bill a token per 100 ms of the
caller's audio but per 50 ms of their own. A single rate prices the agent's replies
at about half what they bill. Every usage report that says how many audio tokens a
context was billed gives one equation, ``audio = user x U + agent x A`` (U and A: the
transcript tokens each speaker has in the context); the two rates are the
least-squares fit over the reports, older reports weighing less.

```python
rates = SpeechRates()
rates.observe(user_tokens=300, agent_tokens=500, audio_tokens=4_900)
rates.observe(user_tokens=300, agent_tokens=200, audio_tokens=2_500)
rates.user, rates.agent   # 3.0, 8.0
```
"""

from __future__ import annotations

__all__ = ["SpeechRates"]

LOWEST, HIGHEST = 1.0, 20.0
"""Rates are kept within these: a transcript missing its words must not price speech at
thousands of tokens a word."""


class SpeechRates:
    """Billed tokens per transcript token of the user's and of the agent's speech.

    Args:
        decay: the weight a report keeps each time a newer one arrives.
    """

    def __init__(self, *, decay: float = 0.95) -> None:
        if not 0 < decay <= 1:
            raise ValueError(f"decay must be in (0, 1], not {decay}")
        self.decay = decay
        self.user = 1.0
        self.agent = 1.0
        self._uu = self._ua = self._aa = self._uy = self._ay = 0.0

    def observe(self, *, user_tokens: int, agent_tokens: int, audio_tokens: int) -> None:
        """A context with ``user_tokens`` and ``agent_tokens`` of spoken transcripts was
        billed ``audio_tokens`` of audio."""
        if user_tokens + agent_tokens <= 0 or audio_tokens <= 0:
            return
        d, u, a, y = self.decay, float(user_tokens), float(agent_tokens), float(audio_tokens)
        self._uu = d * self._uu + u * u
        self._ua = d * self._ua + u * a
        self._aa = d * self._aa + a * a
        self._uy = d * self._uy + u * y
        self._ay = d * self._ay + a * y
        det = self._uu * self._aa - self._ua * self._ua
        if det > 1e-6 * self._uu * self._aa:
            user = (self._uy * self._aa - self._ay * self._ua) / det
            agent = (self._ay * self._uu - self._uy * self._ua) / det
            if user > 0 and agent > 0:
                self.user, self.agent = _bounded(user), _bounded(agent)
                return
        # the reports cannot tell the speakers apart yet: one rate for both
        one = (self._uy + self._ay) / (self._uu + 2 * self._ua + self._aa)
        self.user = self.agent = _bounded(one)

    def observe_ratio(self, ratio: float) -> None:
        """Billed tokens per transcript token seen for both speakers at once (the growth
        of a provider's input count when it does not say what was audio)."""
        ratio = _bounded(ratio)
        if self.user == self.agent == 1.0:
            self.user = self.agent = ratio
        else:
            self.user = 0.8 * self.user + 0.2 * ratio
            self.agent = 0.8 * self.agent + 0.2 * ratio


def _bounded(rate: float) -> float:
    return min(HIGHEST, max(LOWEST, rate))
