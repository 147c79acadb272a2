"""Streaming units composed from the blocks of hw.blocks."""
