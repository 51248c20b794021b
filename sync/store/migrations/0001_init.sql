-- Presage sync store, version 1. One text for SQLite and PostgreSQL: the types are ones both read
-- (SQLite maps BIGINT to INTEGER, DOUBLE PRECISION to REAL, and keeps BYTEA values as blobs).
-- Times are Unix seconds; days are Unix days (floor(seconds / 86400)), UTC.

-- Named values of the server itself, such as the SHA-256 of the admin token.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per batch counted within the retry window, for idempotency: a batch whose key is here
-- is acknowledged again and not counted. The key leads with the day: a retry is the same bytes,
-- hence the same day, so (day, id) recognises it as well as the id alone, and pruning a day is a
-- range of the key rather than a second index to maintain on every insert. Rows hold no time
-- finer than the day, and nothing about the sender.
CREATE TABLE batches (
    day  BIGINT NOT NULL, -- the device's day of the drain, bounded by the server at ingest
    id   BYTEA  NOT NULL, -- random, drawn on the device
    site TEXT   NOT NULL,
    PRIMARY KEY (day, id)
);

-- Learning counters per campaign x variant x segment, per bundle version and day, summed over
-- batches. batches counts the batches that contributed: the k-anonymity threshold reads it.
CREATE TABLE cells (
    site        TEXT             NOT NULL,
    campaign    TEXT             NOT NULL,
    variant     TEXT             NOT NULL, -- '' is the holdout group
    segment     TEXT             NOT NULL, -- '' when no segment matched
    bundle      BIGINT           NOT NULL,
    day         BIGINT           NOT NULL,
    batches     BIGINT           NOT NULL,
    exposures   BIGINT           NOT NULL,
    conversions BIGINT           NOT NULL,
    revenue     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site, campaign, variant, segment, bundle, day)
);

-- Ingest totals per site and day: batches counted, cells they carried, learning the devices
-- dropped (their buffer was full).
CREATE TABLE ingest_days (
    site    TEXT   NOT NULL,
    day     BIGINT NOT NULL,
    batches BIGINT NOT NULL,
    cells   BIGINT NOT NULL,
    dropped BIGINT NOT NULL,
    PRIMARY KEY (site, day)
);

-- Campaign definitions edited through the admin API. spec is the campaign as JSON; the columns
-- beside it are copies for querying.
CREATE TABLE campaigns (
    site     TEXT   NOT NULL,
    id       TEXT   NOT NULL,
    status   TEXT   NOT NULL,
    revision BIGINT NOT NULL,
    created  BIGINT NOT NULL,
    updated  BIGINT NOT NULL,
    spec     TEXT   NOT NULL,
    PRIMARY KEY (site, id)
);

-- Every signed bundle ever uploaded or made, kept so that any of them can be published again.
-- envelope is the signed bytes exactly as served.
CREATE TABLE bundles (
    site        TEXT   NOT NULL,
    version     BIGINT NOT NULL,
    envelope    BYTEA  NOT NULL,
    sha256      TEXT   NOT NULL,
    key_id      TEXT   NOT NULL,
    created     BIGINT NOT NULL, -- the bundle's own Created
    expires     BIGINT NOT NULL, -- the bundle's own Expires; 0 = never
    added       BIGINT NOT NULL, -- when the store received it
    source      TEXT   NOT NULL, -- upload, rollback, train
    rollback_of BIGINT NOT NULL, -- for source = rollback: the version whose content this is; else 0
    PRIMARY KEY (site, version)
);

-- The publication history per site: the current bundle is the one of the highest seq.
CREATE TABLE publications (
    site    TEXT   NOT NULL,
    seq     BIGINT NOT NULL,
    version BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (site, seq)
);
