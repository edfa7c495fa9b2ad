"""The official openai Python SDK's Responses API against the gateway's /v1/responses.

Run by tests/ingress_responses.rs with BIFROST_URL pointing at a gateway whose `openai` provider
is an OpenAI mock and whose `anthropic` provider is an Anthropic mock; the gateway serves the
Responses API through chat. Exits non-zero on the first failure.
"""

import json
import os

import openai
from openai import OpenAI

TOOLS = [{
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    base = os.environ["BIFROST_URL"]
    client = OpenAI(base_url=base + "/v1", api_key="not-used-by-the-gateway", max_retries=0, timeout=30)

    r = client.responses.create(model="openai/gpt-4o-mini", instructions="Be brief.", input="Hello SDK")
    check(r.output_text == "openai-mock says: Hello SDK", f"output_text: {r}")
    check(r.status == "completed", f"status: {r.status}")
    check(r.usage.input_tokens == 9 and r.usage.output_tokens == 3, f"usage: {r.usage}")

    # A function call round trip through the Anthropic provider.
    model = "anthropic/claude-3-5-haiku-20241022"
    inputs = [{"role": "user", "content": "Weather in Paris?"}]
    r = client.responses.create(model=model, input=inputs, tools=TOOLS)
    calls = [o for o in r.output if o.type == "function_call"]
    check(len(calls) == 1 and calls[0].name == "get_weather", f"calls: {r.output}")
    check(json.loads(calls[0].arguments) == {"city": "Paris"}, f"arguments: {calls[0]}")
    inputs += r.output
    inputs.append({"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"})
    r = client.responses.create(model=model, input=inputs, tools=TOOLS)
    check(r.output_text.startswith("claude-mock says"), f"after the tool: {r}")

    # Streaming with the SDK's helper, which checks the event sequence as it accumulates.
    with client.responses.stream(model="openai/gpt-4o-mini", input="stream it") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    check("".join(deltas) == "Hello world", f"deltas: {deltas}")
    check(final.output_text == "Hello world", f"final: {final}")
    check(final.usage.total_tokens == 12, f"final usage: {final.usage}")

    with client.responses.stream(model="openai/gpt-4o-mini", input="Weather?", tools=TOOLS) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    calls = [o for o in final.output if o.type == "function_call"]
    check(len(calls) == 1 and json.loads(calls[0].arguments) == {"city": "Paris"}, f"streamed call: {final}")

    try:
        client.responses.create(model="openai/gpt-4o-mini", input="x", previous_response_id="resp_1")
        check(False, "previous_response_id must be refused")
    except openai.BadRequestError as e:
        check(e.status_code == 400, f"status: {e.status_code}")

    print("all checks passed")


if __name__ == "__main__":
    main()
