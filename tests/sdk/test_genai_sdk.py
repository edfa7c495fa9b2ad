"""The official google-genai Python SDK as a real client of the gateway's /genai routes.

Run by tests/ingress_genai.rs with BIFROST_URL pointing at a gateway whose `openai` provider is
an OpenAI mock and whose `anthropic` provider is an Anthropic mock. There is no gemini provider
behind it, so models carry a provider prefix (`openai/gpt-4o-mini`), which the SDK puts in the
path as `models/openai/gpt-4o-mini:generateContent`. Exits non-zero on the first failure.
"""

import os

from google import genai
from google.genai import errors, types

OPENAI = "openai/gpt-4o-mini"
CLAUDE = "anthropic/claude-3-5-haiku-20241022"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


WEATHER = types.Tool(function_declarations=[types.FunctionDeclaration(
    name="get_weather",
    description="Weather in a city",
    parameters=types.Schema(type="OBJECT", properties={"city": types.Schema(type="STRING")}, required=["city"]),
)])

CALLED = []


def get_weather(city: str) -> dict:
    """Returns the weather in a city."""
    CALLED.append(city)
    return {"weather": "sunny", "city": city}


def main():
    base = os.environ["BIFROST_URL"]
    client = genai.Client(
        api_key="not-used-by-the-gateway",
        http_options=types.HttpOptions(base_url=base + "/genai", timeout=30_000,
                                       retry_options=types.HttpRetryOptions(attempts=1)),
    )

    # generateContent to an OpenAI upstream, with a system instruction and settings.
    r = client.models.generate_content(
        model=OPENAI, contents="Hello SDK",
        config=types.GenerateContentConfig(system_instruction="Be brief.", temperature=0.2, max_output_tokens=50),
    )
    check(r.text == "openai-mock says: Hello SDK", f"text: {r}")
    check(r.candidates[0].finish_reason == types.FinishReason.STOP, f"finish: {r.candidates[0]}")
    check(r.usage_metadata.total_token_count == 12, f"usage: {r.usage_metadata}")

    # Older SDKs and REST clients use the v1beta API version; both are served.
    beta = genai.Client(
        api_key="not-used-by-the-gateway",
        http_options=types.HttpOptions(base_url=base + "/genai", api_version="v1beta", timeout=30_000,
                                       retry_options=types.HttpRetryOptions(attempts=1)),
    )
    r = beta.models.generate_content(model=OPENAI, contents="beta")
    check(r.text == "openai-mock says: beta", f"v1beta: {r}")

    # The same SDK to an Anthropic upstream.
    r = client.models.generate_content(model=CLAUDE, contents="Hi Claude")
    check(r.text == "claude-mock says: Hi Claude", f"claude: {r}")
    check(r.usage_metadata.prompt_token_count == 25, f"claude usage: {r.usage_metadata}")

    # streamGenerateContent (the SDK always asks for alt=sse).
    for model, expected in [(OPENAI, "Hello world"), (CLAUDE, "Hello from claude")]:
        chunks = list(client.models.generate_content_stream(model=model, contents="stream"))
        text = "".join(c.text or "" for c in chunks)
        check(text == expected, f"{model} streamed: {text!r}")
        check(chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP, f"{model} last: {chunks[-1]}")
        check(chunks[-1].usage_metadata.total_token_count > 0, f"{model} usage: {chunks[-1]}")

    # Function calling by hand: the call, then the function response without an id.
    config = types.GenerateContentConfig(
        tools=[WEATHER],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    question = types.Content(role="user", parts=[types.Part.from_text(text="Weather in Paris?")])
    r = client.models.generate_content(model=OPENAI, contents=[question], config=config)
    calls = r.function_calls or []
    check(len(calls) == 1 and calls[0].name == "get_weather", f"function calls: {r}")
    check(calls[0].args == {"city": "Paris"}, f"args: {calls[0]}")
    answer = types.Content(role="user", parts=[
        types.Part.from_function_response(name="get_weather", response={"result": "sunny"}),
    ])
    r = client.models.generate_content(model=OPENAI, contents=[question, r.candidates[0].content, answer],
                                       config=config)
    check(r.text and not r.function_calls, f"after the function response: {r}")

    # Automatic function calling: the SDK runs the Python function and sends its result back.
    CALLED.clear()
    r = client.models.generate_content(model=CLAUDE, contents="Weather in Paris?",
                                       config=types.GenerateContentConfig(tools=[get_weather]))
    check(CALLED == ["Paris"], f"the SDK did not call the function: {CALLED}")
    check(r.text, f"automatic function calling answer: {r}")

    # Streamed function call from an Anthropic upstream.
    chunks = list(client.models.generate_content_stream(model=CLAUDE, contents="Weather?", config=config))
    streamed = [fc for c in chunks for fc in (c.function_calls or [])]
    check(len(streamed) == 1 and streamed[0].args == {"city": "Paris"}, f"streamed calls: {chunks}")

    # Embeddings (the SDK uses batchEmbedContents), token counting, models.
    e = client.models.embed_content(model="openai/text-embedding-3-small", contents=["a", "b"])
    check(len(e.embeddings) == 2, f"embeddings: {e}")
    check(e.embeddings[0].values == [0.25, -0.5, 0.125], f"embedding values: {e}")
    c = client.models.count_tokens(model=OPENAI, contents="How many tokens is this?")
    check(c.total_tokens > 0, f"count_tokens: {c}")
    names = [m.name for m in client.models.list()]
    check("models/openai/gpt-4o-mini" in names, f"models: {names}")
    m = client.models.get(model=OPENAI)
    check(m.name == "models/openai/gpt-4o-mini", f"model: {m}")

    # Errors arrive as the SDK's typed exceptions, with Google's status.
    try:
        client.models.generate_content(model="groq/llama-3.1-8b", contents="x")
        check(False, "an unconfigured provider must fail")
    except errors.ClientError as err:
        check(err.code == 400, f"code: {err.code}")
        check(err.status == "INVALID_ARGUMENT", f"status: {err.status}")

    print("all checks passed")


if __name__ == "__main__":
    main()
