"""Prompt catalogue, text-to-speech build, dynamic prompts and their serving."""
