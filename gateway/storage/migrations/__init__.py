"""Alembic migrations of the gateway's database (run by ``gateway.storage.migrate``; no alembic.ini).

The rule: every change to the tables (``gateway/storage/*models.py``, ``gateway/notify/models.py``)
comes with a revision in ``versions/``, in the same commit:

    .venv/bin/python -m gateway.storage.migrate revision "add orders.callback_phone"

writes ``versions/NNNN_<slug>.py`` from the difference between the models and a database at the
current head; read it and finish it by hand (data to move, defaults for rows that exist). On SQLite
any change other than adding a table or a nullable column goes through
``with op.batch_alter_table(...)`` (SQLite cannot alter a column in place; the batch copies the
table, with foreign keys off for the duration). Never edit a revision that has been released; add
one. ``tests/test_migrations.py`` checks that the revisions from empty give exactly the models'
schema on SQLite and PostgreSQL, and that a database of the previous release keeps every row.
"""
