"""The official anthropic Python SDK as a real client of the gateway's /anthropic routes.

Run by tests/ingress_anthropic.rs with BIFROST_URL pointing at a gateway whose `openai` provider
is an OpenAI mock and whose `anthropic` provider is an Anthropic mock. Exits non-zero on the
first failure.
"""

import os

import anthropic
from anthropic import Anthropic

OPENAI = "openai/gpt-4o-mini"
CLAUDE = "claude-3-5-haiku-20241022"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def agent_tools():
    """A coding agent's tool belt: the weather tool first (the mocks call the first tool)."""
    tools = [{
        "name": "get_weather",
        "description": "Weather in a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }]
    for name in ["read_file", "write_file", "edit_file", "list_dir", "grep", "glob", "bash",
                 "web_fetch", "todo_write", "task", "notebook_edit"]:
        tools.append({
            "name": name,
            "description": f"The {name} tool of a coding agent.",
            "input_schema": {"type": "object", "properties": {"arg": {"type": "string"}}, "required": ["arg"]},
        })
    tools[-1]["cache_control"] = {"type": "ephemeral"}
    return tools


AGENT_SYSTEM = [
    {"type": "text", "text": "You are a coding agent working in a git repository."},
    {"type": "text", "text": "Follow the repository's conventions.", "cache_control": {"type": "ephemeral"}},
]


def coding_agent_turn(client, model):
    """A streamed agent turn that ends in tool_use, then the tool result and the answer."""
    messages = [{"role": "user", "content": [
        {"type": "text", "text": "What is the weather in Paris?", "cache_control": {"type": "ephemeral"}},
    ]}]
    with client.messages.stream(model=model, max_tokens=1024, system=AGENT_SYSTEM, tools=agent_tools(),
                                messages=messages) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_message()
    check(events[0] == "message_start", f"{model} events: {events}")
    check("input_json" in events, f"{model}: no input_json events: {events}")
    check(final.stop_reason == "tool_use", f"{model} stop_reason: {final}")
    uses = [b for b in final.content if b.type == "tool_use"]
    check(len(uses) == 1, f"{model} tool uses: {final.content}")
    check(uses[0].name == "get_weather" and uses[0].input == {"city": "Paris"}, f"{model} tool_use: {uses[0]}")
    check(final.usage.output_tokens > 0, f"{model} usage: {final.usage}")

    messages.append({"role": "assistant", "content": final.content})
    messages.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": uses[0].id, "content": "sunny, 21 C"},
    ]})
    with client.messages.stream(model=model, max_tokens=1024, system=AGENT_SYSTEM, tools=agent_tools(),
                                messages=messages) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    check(final.stop_reason == "end_turn", f"{model} second turn: {final}")
    check(text != "", f"{model} second turn text: {final}")


def main():
    base = os.environ["BIFROST_URL"]
    client = Anthropic(base_url=base + "/anthropic", api_key="not-used-by-the-gateway", max_retries=0, timeout=30)

    # An OpenAI model through the Anthropic SDK.
    m = client.messages.create(model=OPENAI, max_tokens=50, system="Be brief.",
                               messages=[{"role": "user", "content": "Hello SDK"}])
    check(m.type == "message" and m.role == "assistant", f"message: {m}")
    check(m.content[0].type == "text" and m.content[0].text == "openai-mock says: Hello SDK", f"content: {m}")
    check(m.stop_reason == "end_turn", f"stop_reason: {m}")
    check(m.usage.input_tokens == 9 and m.usage.output_tokens == 3, f"usage: {m.usage}")

    # A bare Claude model goes to the anthropic provider.
    m = client.messages.create(model=CLAUDE, max_tokens=50, messages=[{"role": "user", "content": "Hi Claude"}])
    check(m.content[0].text == "claude-mock says: Hi Claude", f"claude: {m}")
    check(m.usage.input_tokens == 25 and m.usage.output_tokens == 15, f"claude usage: {m.usage}")

    # Streaming with the SDK's helper, from both upstreams.
    for model, expected in [(OPENAI, "Hello world"), (CLAUDE, "Hello from claude")]:
        with client.messages.stream(model=model, max_tokens=50,
                                    messages=[{"role": "user", "content": "stream"}]) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        check(text == expected, f"{model} streamed text: {text!r}")
        check(final.content[0].text == expected, f"{model} final: {final}")
        check(final.stop_reason == "end_turn", f"{model} final stop: {final}")
        check(final.usage.output_tokens > 0, f"{model} final usage: {final.usage}")

    # Raw stream events, as a client without the helper sees them.
    raw = client.messages.create(model=OPENAI, max_tokens=50, stream=True,
                                 messages=[{"role": "user", "content": "raw"}])
    kinds = [e.type for e in raw]
    check(kinds[0] == "message_start" and kinds[-1] == "message_stop", f"raw events: {kinds}")
    check("message_delta" in kinds and "content_block_delta" in kinds, f"raw events: {kinds}")

    # A coding agent: system blocks, many tools, streaming with tool_use, both upstreams.
    coding_agent_turn(client, OPENAI)
    coding_agent_turn(client, CLAUDE)

    # Token counting and the model list.
    count = client.messages.count_tokens(model=OPENAI, system="Be brief.",
                                         messages=[{"role": "user", "content": "How many tokens?"}])
    check(count.input_tokens > 0, f"count_tokens: {count}")
    ids = [mi.id for mi in client.models.list()]
    check("openai/gpt-4o-mini" in ids and "anthropic/" + CLAUDE in ids, f"models: {ids}")

    # Errors arrive as the SDK's typed exceptions.
    try:
        client.messages.create(model="groq/llama-3.1-8b", max_tokens=5,
                               messages=[{"role": "user", "content": "x"}])
        check(False, "an unconfigured provider must fail")
    except anthropic.BadRequestError as e:
        check(e.status_code == 400, f"status: {e.status_code}")
        check(e.body["error"]["type"] == "invalid_request_error", f"error body: {e.body}")

    print("all checks passed")


if __name__ == "__main__":
    main()
