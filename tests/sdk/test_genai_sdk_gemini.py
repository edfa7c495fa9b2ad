"""The official google-genai Python SDK against the gateway's /genai routes with a gemini upstream.

Run by tests/gemini.rs with BIFROST_URL pointing at a gateway whose `gemini` provider is a Gemini
mock. Models are bare names (`gemini-2.0-flash`), as a Gemini user writes them: the gateway sends
them to its gemini provider, translating Gemini's format to the canonical one and back. Exits
non-zero on the first failure.
"""

import os

from google import genai
from google.genai import types

MODEL = "gemini-2.0-flash"

WEATHER = types.Tool(function_declarations=[types.FunctionDeclaration(
    name="get_weather",
    description="Weather in a city",
    parameters=types.Schema(type="OBJECT", properties={"city": types.Schema(type="STRING")}, required=["city"]),
)])


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    client = genai.Client(
        api_key="client-key-the-gateway-replaces",
        http_options=types.HttpOptions(base_url=os.environ["BIFROST_URL"] + "/genai", api_version="v1beta",
                                       timeout=30_000, retry_options=types.HttpRetryOptions(attempts=1)),
    )

    r = client.models.generate_content(
        model=MODEL, contents="Hello SDK",
        config=types.GenerateContentConfig(system_instruction="Be brief.", temperature=0.2, max_output_tokens=50),
    )
    check(r.text == "gemini says: Hello SDK", f"text: {r}")
    check(r.candidates[0].finish_reason == types.FinishReason.STOP, f"finish: {r.candidates[0]}")
    check(r.usage_metadata.prompt_token_count == 25, f"usage: {r.usage_metadata}")
    check(r.usage_metadata.total_token_count == 43, f"usage: {r.usage_metadata}")

    chunks = list(client.models.generate_content_stream(model=MODEL, contents="stream"))
    text = "".join(c.text or "" for c in chunks)
    check(text == "Hello from gemini!", f"streamed: {text!r}")
    check(chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP, f"last: {chunks[-1]}")

    config = types.GenerateContentConfig(
        tools=[WEATHER], automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    question = types.Content(role="user", parts=[types.Part.from_text(text="Weather in Paris?")])
    r = client.models.generate_content(model=MODEL, contents=[question], config=config)
    calls = r.function_calls or []
    check(len(calls) == 1 and calls[0].name == "get_weather", f"function calls: {r}")
    check(calls[0].args == {"city": "Paris"}, f"args: {calls[0]}")
    answer = types.Content(role="user", parts=[
        types.Part.from_function_response(name="get_weather", response={"result": "sunny"}),
    ])
    r = client.models.generate_content(model=MODEL, contents=[question, r.candidates[0].content, answer],
                                       config=config)
    check(r.text and not r.function_calls, f"after the function response: {r}")

    print("all checks passed")


if __name__ == "__main__":
    main()
