"""Search: full-text structures over the blocks of ``text.extract``, never-reused segment ids,
and the facets of what is already stored.

SQLite gets an FTS5 table reading its text from ``segments`` (external content,
Porter stemming, diacritics folded) and triggers that keep it in step with the
``text.extract`` rows; ``segments`` is rebuilt once with AUTOINCREMENT so a
deleted row's id is never given to a new one (the vector index is keyed by
segment id). PostgreSQL gets ``segments_fts``: the English ``tsvector`` of each
of those rows, kept by statement triggers, with a GIN index. The tsvector is
stored rather than indexed as an expression because ranking reads it for every
match, and rebuilding it costs about 40 microseconds a block. PostgreSQL ids
come from a sequence and are never reused.

A later migration that rebuilds ``segments`` on SQLite (batch mode) must keep
``sqlite_autoincrement`` and create the triggers again.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

from cintel.store.facets import rebuild_facets

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SQLITE_UP = [
    """CREATE VIRTUAL TABLE segments_fts USING fts5(
        text, content='segments', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments
        WHEN new.analyzer = 'text.extract'
    BEGIN
        INSERT INTO segments_fts (rowid, text) VALUES (new.id, new.text);
    END""",
    """CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments
        WHEN old.analyzer = 'text.extract'
    BEGIN
        INSERT INTO segments_fts (segments_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END""",
    """CREATE TRIGGER segments_fts_update AFTER UPDATE OF text, analyzer ON segments
    BEGIN
        INSERT INTO segments_fts (segments_fts, rowid, text)
            SELECT 'delete', old.id, old.text WHERE old.analyzer = 'text.extract';
        INSERT INTO segments_fts (rowid, text)
            SELECT new.id, new.text WHERE new.analyzer = 'text.extract';
    END""",
    "INSERT INTO segments_fts (rowid, text) "
    "SELECT id, text FROM segments WHERE analyzer = 'text.extract'",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS segments_fts_update",
    "DROP TRIGGER IF EXISTS segments_fts_delete",
    "DROP TRIGGER IF EXISTS segments_fts_insert",
    "DROP TABLE IF EXISTS segments_fts",
]

# Statement triggers read the rows a statement wrote at once (transition tables), so a
# batch of segments costs one trigger call; ``SET search_path FROM CURRENT`` keeps the
# functions on this store's schema whatever the caller's search path.
POSTGRES_UP = [
    "CREATE TABLE segments_fts (id integer PRIMARY KEY, tsv tsvector NOT NULL)",
    "CREATE INDEX ix_segments_fts ON segments_fts USING gin (tsv)",
    """CREATE FUNCTION segments_fts_insert() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    BEGIN
        INSERT INTO segments_fts (id, tsv)
            SELECT id, to_tsvector('english'::regconfig, coalesce(text, ''))
            FROM inserted WHERE analyzer = 'text.extract';
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION segments_fts_delete() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    BEGIN
        DELETE FROM segments_fts
            WHERE id IN (SELECT id FROM deleted WHERE analyzer = 'text.extract');
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION segments_fts_update() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    BEGIN
        DELETE FROM segments_fts
            WHERE id IN (SELECT id FROM before_rows WHERE analyzer = 'text.extract');
        INSERT INTO segments_fts (id, tsv)
            SELECT id, to_tsvector('english'::regconfig, coalesce(text, ''))
            FROM after_rows WHERE analyzer = 'text.extract';
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments "
    "REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION segments_fts_insert()",
    "CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments "
    "REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION segments_fts_delete()",
    "CREATE TRIGGER segments_fts_update AFTER UPDATE ON segments "
    "REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION segments_fts_update()",
    "INSERT INTO segments_fts (id, tsv) "
    "SELECT id, to_tsvector('english'::regconfig, coalesce(text, '')) "
    "FROM segments WHERE analyzer = 'text.extract'",
]

POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS segments_fts_update ON segments",
    "DROP TRIGGER IF EXISTS segments_fts_delete ON segments",
    "DROP TRIGGER IF EXISTS segments_fts_insert ON segments",
    "DROP FUNCTION IF EXISTS segments_fts_update()",
    "DROP FUNCTION IF EXISTS segments_fts_delete()",
    "DROP FUNCTION IF EXISTS segments_fts_insert()",
    "DROP TABLE IF EXISTS segments_fts",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        with op.batch_alter_table(
            "segments", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
        for statement in SQLITE_UP:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in POSTGRES_UP:
            op.execute(statement)
    rebuild_facets(op.get_bind())


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
