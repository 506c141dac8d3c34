"""The LLM layer: providers, versioned prompts, structured output, cache, cost and budgets.

One protocol (``LLMProvider``) with an OpenAI-compatible HTTP implementation,
so vLLM, llama.cpp's server, Ollama and hosted APIs all work. ``LLMSession``
is what an analyzer uses: it asks for JSON that fits a pydantic model, caches
answers, counts tokens and money per call, keeps to the run's budget and splits
long inputs into token-sized chunks (map-reduce), never truncating silently.
"""
