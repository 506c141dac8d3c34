"""Text search: what contents say, lexical (FTS5 or PostgreSQL) and by meaning, to the moment.

``Searcher`` answers ``SearchQuery`` with hits (content, start and end, a
highlighted snippet, a score) and finds the contents closest in meaning to one.
It reads the store's tables through ``Store.sql_engine``.
"""
