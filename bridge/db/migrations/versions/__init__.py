"""One file per schema revision, applied in order by ``bridge.db.migrate.upgrade``."""
