"""The emulator's scripted "LLM": what it answers to a valid chat request.

:mod:`.toolmodel` decides (echo, tool calls, JSON, an answer from tool results) and
:mod:`.replies` composes the text with moderation, ``stop`` and length cuts;
:mod:`.promptmode` reads and writes the prompt-mode tool contract, :mod:`.schemafill`
fills arguments from a JSON Schema, :mod:`.estimate` counts tokens and :mod:`.tooltypes`
holds the protocol-neutral tool values.
"""
