"""Tool calling and structured output.

Native and prompt mode, lenient JSON, argument coercion, history, results and forced
choice. Loaded on first use of tools.
"""
