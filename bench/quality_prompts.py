"""The summarizers ``make quality`` sets beside ctxmgr's, each as its project sends it.

Every one folds the same spans in turn (a rolling summary), on the same model:

- ``BEFORE_PROMPT``: ctxmgr's built-in prompt until the structured handover became
  the default (free prose), run through ctxmgr's ``Summarizer``.
- livekit: ``ChatContext._summarize`` of livekit-agents 1.8 (as
  ``TaskGroup(summarize_chat_ctx=True)`` uses it), called as is: each fold summarizes
  only the new items and keeps the earlier summaries beside the new one, so what the
  model holds is all of them.
- the OpenAI cookbook: ``run_summary_llm`` and ``summarise_and_prune`` in
  openai/openai-cookbook ``examples/Context_summarization_with_realtime_api.ipynb``
  (commit 42c857458dd8). One change: the prompt asks for French on purpose (the
  notebook then asks the voice agent what language its summary was in); here it asks
  for none. As there, the transcript is ``role: text`` lines of the turns with text
  (tool calls are not in the notebook's history), and the previous summary is a turn of
  that history (``assistant``), so it is summarized again with the new turns.
- pipecat: ``DEFAULT_SUMMARIZATION_PROMPT`` in pipecat-ai/pipecat
  ``src/pipecat/utils/context/llm_context_summarization.py`` (commit acead0507d7d),
  with ``format_messages_for_summary``'s transcript (``ROLE: text``, ``TOOL_CALL:
  name(args)``, ``TOOL_RESULT[id]: text``, a blank line between entries) sent as
  ``"Conversation history:\\n" + transcript`` by ``LLMService._generate_summary``; the
  previous summary is the user message ``"Conversation summary: {summary}"``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from livekit.agents import llm

Step = Callable[[Any, Any], Awaitable[tuple[Any, str]]]
"""(state, span) -> (new state, the text the model now holds in place of the history)."""

BEFORE_PROMPT = """\
Compress older conversation history into a short, faithful summary that replaces it.

The conversation is formatted as XML. Here is how to read it:
- <summary_so_far>...</summary_so_far>: the summary of everything before; fold it into \
the new summary and keep its facts unless the conversation corrects them.
- <user>...</user>: something the user said.
- <assistant>...</assistant>: something the assistant said.
- <function_call name="..." call_id="...">...</function_call>: the assistant invoked an action.
- <function_call_output call_id="..." name="...">...</function_call_output>: the result of \
that action. May contain <error>...</error> if it failed.

Keep, exactly as written:
- names of people, companies and products; numbers, amounts, ids, dates, times and addresses;
- every commitment or promise the assistant made, and every decision taken;
- open tasks and unresolved questions;
- what was learned from function call outputs (state the facts, not that a tool was called).

Omit greetings, filler and chit-chat. Write plain prose in the third person, oldest \
first. Reply with the summary only, in at most {max_summary_tokens} tokens."""
"""ctxmgr's ``DEFAULT_PROMPT`` before the structured handover (commit be61199)."""

COOKBOOK_PROMPT = (
    "Summarise the following conversation in one concise paragraph so it can be used as"
    " context for future dialogue."
)
"""The cookbook's system prompt, less "in French"."""

PIPECAT_PROMPT = """\
You are summarizing a conversation between a user and an AI assistant.

Your task:
1. Create a concise summary that preserves:
   - Key facts, decisions, and agreements
   - Important context needed to continue the conversation
   - User preferences and requirements mentioned
   - Any unresolved questions or action items

2. Format:
   - Use clear, factual statements
   - Group related information
   - Prioritize information likely to be referenced later
   - Keep the summary concise to fit within the specified token budget

3. Omit:
   - Greetings and small talk
   - Redundant information
   - Tangential discussions that were resolved

The conversation transcript follows. Generate only the summary, no other text."""


async def _complete(model: llm.LLM[Any], system: str, user: str) -> str:
    chat_ctx = llm.ChatContext()
    chat_ctx.add_message(role="system", content=system)
    chat_ctx.add_message(role="user", content=user)
    chunks: list[str] = []
    async with model.chat(chat_ctx=chat_ctx) as stream:
        async for chunk in stream:
            if chunk.delta and chunk.delta.content:
                chunks.append(chunk.delta.content)
    return "".join(chunks).strip()


def livekit_step(model: llm.LLM[Any], chat_items: Callable[[Any], list[llm.ChatItem]]) -> Step:
    async def step(chat_ctx: llm.ChatContext | None, span: Any) -> tuple[Any, str]:
        chat_ctx = chat_ctx or llm.ChatContext()
        chat_ctx.items.extend(chat_items(span))
        chat_ctx = await chat_ctx._summarize(model, keep_last_turns=0)
        held = "\n".join(
            m.text_content or ""
            for m in chat_ctx.items
            if isinstance(m, llm.ChatMessage) and m.extra.get("is_summary")
        )
        return chat_ctx, held

    return step


def cookbook_step(model: llm.LLM[Any]) -> Step:
    async def step(summary: str | None, span: Sequence[tuple[str, ...]]) -> tuple[Any, str]:
        history = ([("assistant", summary)] if summary else []) + [
            (t[0], t[1]) for t in span if t[0] in ("user", "assistant")
        ]
        text = await _complete(
            model, COOKBOOK_PROMPT, "\n".join(f"{role}: {text}" for role, text in history)
        )
        return text, text

    return step


def _pipecat_transcript(items: Sequence[llm.ChatItem]) -> str:
    parts: list[str] = []
    for item in items:
        if isinstance(item, llm.ChatMessage):
            parts.append(f"{item.role.upper()}: {item.text_content or ''}")
        elif isinstance(item, llm.FunctionCall):
            parts.append(f"TOOL_CALL: {item.name}({item.arguments})")
        elif isinstance(item, llm.FunctionCallOutput):
            parts.append(f"TOOL: {item.output}")
            parts.append(f"TOOL_RESULT[{item.call_id}]: {item.output}")
    return "\n\n".join(parts)


def pipecat_step(model: llm.LLM[Any], chat_items: Callable[[Any], list[llm.ChatItem]]) -> Step:
    async def step(summary: str | None, span: Any) -> tuple[Any, str]:
        items = chat_items(span)
        if summary:
            items.insert(
                0, llm.ChatMessage(role="user", content=[f"Conversation summary: {summary}"])
            )
        text = await _complete(
            model, PIPECAT_PROMPT, f"Conversation history:\n{_pipecat_transcript(items)}"
        )
        return text, text

    return step
