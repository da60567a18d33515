#!/usr/bin/env python3
"""sqlite_writer.py DB WHO COUNT: adds COUNT rows (who=WHO, i=0..COUNT-1), each in its own write transaction
(BEGIN IMMEDIATE ... COMMIT), in SQLite's default rollback-journal mode, which relies on fcntl locks to keep
writers on different clients apart. Prints "done COUNT" at the end; any error ends it with exit 1.

sqlite_writer.py --create DB: creates the table.  sqlite_writer.py --check DB: prints the row count per writer
and the result of pragma integrity_check."""
import sqlite3
import sys


def connect(db):
    # isolation_level=None: we issue BEGIN/COMMIT ourselves; timeout: SQLite's busy handler retries while the
    # other writer holds the lock (60 s is far above what 500 short transactions of the other need).
    return sqlite3.connect(db, timeout=60, isolation_level=None)


def main(argv):
    if argv[0] == "--create":
        c = connect(argv[1])
        c.execute("CREATE TABLE t (who TEXT NOT NULL, i INTEGER NOT NULL, pad BLOB, PRIMARY KEY (who, i))")
        c.close()
        print("created", flush=True)
        return 0
    if argv[0] == "--check":
        c = connect(argv[1])
        for who, n in c.execute("SELECT who, count(*) FROM t GROUP BY who ORDER BY who"):
            print(f"rows {who} {n}")
        print(f"total {c.execute('SELECT count(*) FROM t').fetchone()[0]}")
        print(f"integrity {';'.join(r[0] for r in c.execute('PRAGMA integrity_check'))}", flush=True)
        c.close()
        return 0
    db, who, count = argv[0], argv[1], int(argv[2])
    c = connect(db)
    for i in range(count):
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT INTO t (who, i, pad) VALUES (?, ?, randomblob(200))", (who, i))
        c.execute("COMMIT")
    c.close()
    print(f"done {count}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
