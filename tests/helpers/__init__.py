"""Helpers the tests share: media and data built in code, live servers, test analyzers."""
