-- A large audience import commits in chunks (issue #23: a Galera cluster certifies and
-- replicates each transaction whole, and stalls every node while a huge one applies). While
-- its chunks are committed the campaign is marked: import_token names the importer (or the
-- process undoing it), import_floor_id is the campaign's highest recipient id before the
-- import (its rows are those above it, to undo it), and the lease says the importer is alive.
-- Start, edit, delete, clearing and other imports refuse a marked campaign; a marker whose
-- lease ran out is an interrupted import, undone by the next action on the campaign
-- (lib/recipients_chunks.c).
ALTER TABLE campaigns
    ADD COLUMN IF NOT EXISTS import_token       BIGINT UNSIGNED NULL,
    ADD COLUMN IF NOT EXISTS import_floor_id    BIGINT UNSIGNED NULL,
    ADD COLUMN IF NOT EXISTS import_lease_until DATETIME(3)     NULL;
