"""The official openai Python SDK as a real client of the gateway.

Run by tests/sdk.rs with BIFROST_URL pointing at a gateway whose `openai` provider is an OpenAI
mock and whose `anthropic` provider is an Anthropic mock. Exits non-zero on the first failure.
"""

import json
import os
import sys

import openai
from openai import OpenAI


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    base = os.environ["BIFROST_URL"]
    client = OpenAI(base_url=base + "/v1", api_key="not-used-by-the-gateway", max_retries=0, timeout=30)

    # Chat, JSON.
    r = client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello SDK"}],
        temperature=0.5,
        max_tokens=20,
    )
    check(r.choices[0].message.content == "openai-mock says: Hello SDK", f"chat content: {r}")
    check(r.choices[0].finish_reason == "stop", f"finish_reason: {r}")
    check(r.usage is not None and r.usage.total_tokens == 12, f"usage: {r.usage}")
    extra = (r.model_extra or {}).get("extra_fields") or {}
    check(extra.get("provider") == "openai", f"extra_fields: {extra}")
    check(extra.get("model_requested") == "gpt-4o-mini", f"extra_fields: {extra}")

    # Chat through the anthropic provider, same SDK.
    r = client.chat.completions.create(
        model="anthropic/claude-3-5-haiku-20241022",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi Claude"}],
        max_tokens=64,
    )
    check(r.choices[0].message.content == "anthropic-mock says: Hi Claude", f"anthropic chat: {r}")
    check(r.usage.prompt_tokens == 25 and r.usage.completion_tokens == 15, f"anthropic usage: {r.usage}")

    # Streaming, with usage in the last chunk.
    stream = client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "stream it"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, usage, chunks = [], None, 0
    for chunk in stream:
        chunks += 1
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.usage is not None:
            usage = chunk.usage
    check("".join(pieces) == "Hello world", f"stream text: {pieces}")
    check(chunks == 6, f"stream chunks: {chunks}")
    check(usage is not None and usage.total_tokens == 12, f"stream usage: {usage}")

    # Anthropic streaming.
    stream = client.chat.completions.create(
        model="anthropic/claude-3-5-haiku-20241022",
        messages=[{"role": "user", "content": "stream it"}],
        stream=True,
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    check(text == "Hello from claude", f"anthropic stream text: {text!r}")

    # Tools, on both wire formats.
    tools = [{
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }]
    for model in ["openai/gpt-4o", "anthropic/claude-sonnet-4-20250514"]:
        r = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Weather in Paris?"}], tools=tools
        )
        call = r.choices[0].message.tool_calls[0]
        check(r.choices[0].finish_reason == "tool_calls", f"{model} finish_reason: {r}")
        check(call.function.name == "get_weather", f"{model} tool name: {call}")
        check(json.loads(call.function.arguments) == {"city": "Paris"}, f"{model} tool args: {call}")
        follow = client.chat.completions.create(
            model=model,
            messages=[
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
                {"role": "tool", "tool_call_id": call.id, "content": "18C"},
            ],
            tools=tools,
        )
        check(follow.choices[0].finish_reason == "stop", f"{model} after tool: {follow}")

    # Streamed tool call.
    stream = client.chat.completions.create(
        model="openai/gpt-4o", messages=[{"role": "user", "content": "Weather?"}], tools=tools, stream=True
    )
    args = ""
    for c in stream:
        if c.choices and c.choices[0].delta.tool_calls:
            args += c.choices[0].delta.tool_calls[0].function.arguments or ""
    check(json.loads(args) == {"city": "Paris"}, f"streamed tool args: {args!r}")

    # Embeddings.
    e = client.embeddings.create(model="openai/text-embedding-3-small", input=["a", "b"], encoding_format="float")
    check(len(e.data) == 2, f"embeddings: {e}")
    check(e.data[0].embedding == [0.25, -0.5, 0.125], f"embedding 0: {e.data[0].embedding}")
    check(e.data[1].index == 1, f"embedding index: {e.data[1]}")

    # Text completion.
    t = client.completions.create(model="openai/gpt-3.5-turbo-instruct", prompt="Once", max_tokens=5)
    check(t.choices[0].text == "openai-mock completes: Once", f"completion: {t}")

    # Models.
    ids = [m.id for m in client.models.list()]
    for want in ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-20241022"]:
        check(want in ids, f"{want} not in {ids}")

    # Errors surface as the SDK's exceptions with the gateway's status.
    try:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
        check(False, "a model without a provider prefix must fail")
    except openai.BadRequestError as err:
        check(err.status_code == 400, f"status: {err.status_code}")
        check("provider/model" in str(err), f"message: {err}")

    print("openai sdk e2e: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
