-- Saved segments (issue 21; lib/segment.h): a named definition of which contacts make an
-- audience, counted live and added to a campaign like any import.
CREATE TABLE IF NOT EXISTS segments (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name              VARCHAR(200)    NOT NULL,
    definition        LONGTEXT        NOT NULL CHECK (JSON_VALID(definition)),
    created_by        VARCHAR(254)    NOT NULL,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at        DATETIME(3)     NULL,
    UNIQUE KEY uq_segments_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A segment added to a campaign is recorded as an audience import of its own kind.
ALTER TABLE audience_imports
    MODIFY kind ENUM('csv','contacts','list','clone','segment') NOT NULL;
