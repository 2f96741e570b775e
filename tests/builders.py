"""Chat contexts for tests, built item by item with readable ids."""

from __future__ import annotations

from livekit.agents import llm


class Ctx:
    """A ChatContext builder: ``Ctx().system().turn(2).call("c1").ctx``."""

    def __init__(self) -> None:
        self.ctx = llm.ChatContext()
        self._n = 0
        self._t = 1_000.0

    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def _ts(self) -> float:
        self._t += 1.0
        return self._t

    def system(self, text: str = "You are a helpful support agent.") -> Ctx:
        self.ctx.items.append(
            llm.ChatMessage(id=self._id("sys"), role="system", content=[text], created_at=self._ts())
        )
        return self

    def user(self, text: str = "Hello, I need help with my order please.") -> Ctx:
        self.ctx.items.append(
            llm.ChatMessage(id=self._id("u"), role="user", content=[text], created_at=self._ts())
        )
        return self

    def assistant(self, text: str = "Of course, let me look that up for you now.") -> Ctx:
        self.ctx.items.append(
            llm.ChatMessage(id=self._id("a"), role="assistant", content=[text], created_at=self._ts())
        )
        return self

    def turn(self, n: int = 1) -> Ctx:
        for _ in range(n):
            self.user().assistant()
        return self

    def call(self, call_id: str, *, output: bool = True, group_id: str | None = None) -> Ctx:
        self.ctx.items.append(
            llm.FunctionCall(
                id=self._id("fc"),
                call_id=call_id,
                name="lookup_order",
                arguments='{"order": 4417}',
                group_id=group_id,
                created_at=self._ts(),
            )
        )
        if output:
            self.output(call_id)
        return self

    def output(self, call_id: str) -> Ctx:
        self.ctx.items.append(
            llm.FunctionCallOutput(
                id=self._id("fo"),
                call_id=call_id,
                name="lookup_order",
                output='{"status": "shipped"}',
                is_error=False,
                created_at=self._ts(),
            )
        )
        return self

    def summary(self, text: str = "The caller, Ana, asked about order 4417.") -> Ctx:
        self.ctx.items.append(
            llm.ChatMessage(
                id=self._id("sum"),
                role="assistant",
                content=[text],
                extra={"is_summary": True},
                created_at=self._ts(),
            )
        )
        return self

    def config_update(self) -> Ctx:
        self.ctx.items.append(
            llm.AgentConfigUpdate(id=self._id("cfg"), instructions="x", created_at=self._ts())
        )
        return self

    def ids(self) -> list[str]:
        return [item.id for item in self.ctx.items]
