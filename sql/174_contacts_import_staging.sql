-- A large contacts import commits in chunks too (issue #23; lib/contacts_chunks.c). The
-- contacts upsert cannot be undone by deleting rows, so the file is staged first: each chunk
-- of checked rows goes to contacts_import_rows (and its tags to contacts_import_tags) under
-- the import's token and commits. A file that fails is discarded from staging; contacts are
-- untouched. Once the whole file is staged the import turns 'merging' and the staged rows are
-- applied to contacts in seq order, a chunk per transaction that also records merged_seq, so
-- an interrupted merge is finished (rolled forward), never undone. 'done': merged, its staged
-- rows still to delete.
--
-- One chunked import at a time (slot is always 1): a second one is refused while the lease of
-- the first runs; one whose lease ran out (its process died) is taken over by the next
-- contacts import (or pregonctl contacts-import): a staging or done one is discarded, a
-- merging one finished. owner is the process holding the lease (the importer, or the one
-- taking it over); token keys the staged rows.
CREATE TABLE IF NOT EXISTS contacts_imports (
    slot              TINYINT UNSIGNED NOT NULL DEFAULT 1 PRIMARY KEY,
    token             BIGINT UNSIGNED  NOT NULL,
    owner             BIGINT UNSIGNED  NOT NULL,
    state             ENUM('staging', 'merging', 'done') NOT NULL DEFAULT 'staging',
    lease_until       DATETIME(3)      NOT NULL,
    chunk_rows        INT UNSIGNED     NOT NULL,
    staged_rows       INT UNSIGNED     NOT NULL DEFAULT 0,
    merged_seq        INT UNSIGNED     NOT NULL DEFAULT 0,
    added             INT UNSIGNED     NOT NULL DEFAULT 0,
    started_at        DATETIME(3)      NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    CONSTRAINT ck_contacts_imports_slot CHECK (slot = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The checked rows of a staged import, seq 1, 2, ... in file order; consent 1: the file gives
-- consent (recorded as consent_source), 0: it does not, and the contact has it on record.
CREATE TABLE IF NOT EXISTS contacts_import_rows (
    token             BIGINT UNSIGNED NOT NULL,
    seq               INT UNSIGNED    NOT NULL,
    phone             VARCHAR(16)     CHARACTER SET ascii NOT NULL,
    name              VARCHAR(200)    NOT NULL DEFAULT '',
    lead_id           VARCHAR(64)     NULL,
    attributes        LONGTEXT        NOT NULL,
    consent           TINYINT         NOT NULL,
    consent_source    VARCHAR(120)    NULL,
    PRIMARY KEY (token, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The tags of the staged rows; seq 0: the tags given for the whole import (every row's).
CREATE TABLE IF NOT EXISTS contacts_import_tags (
    token             BIGINT UNSIGNED NOT NULL,
    seq               INT UNSIGNED    NOT NULL,
    tag               VARCHAR(64)     NOT NULL,
    PRIMARY KEY (token, seq, tag)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
