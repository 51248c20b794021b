-- Presage sync store, version 3: device summaries for learning on the server (sync/learn cooc.go,
-- clv.go). One text for SQLite and PostgreSQL, as 0001.

-- Item co-occurrences (wire.Batch.Pairs): per site x day x pair x share, the number of batches
-- that listed the pair. A device lists a pair at most once a day, so batches is also the number
-- of visitor-days that saw the pair together, and the k-anonymity threshold reads it. a < b are
-- the agent's 32-bit item hashes. held is 1 for the held-back share (store.HeldBack of the batch
-- id), as in fed_updates. Added in the transaction that counts the batch: a retry adds nothing.
CREATE TABLE cooc (
    site    TEXT   NOT NULL,
    day     BIGINT NOT NULL,
    a       BIGINT NOT NULL,
    b       BIGINT NOT NULL,
    held    BIGINT NOT NULL,
    batches BIGINT NOT NULL,
    PRIMARY KEY (site, day, a, b, held)
);

-- Customer-summary histogram (wire.Batch.Customer, cells of wire.CustomerCell): per site x day x
-- cell x share, the number of batches (visitors: one summary per visitor per week) in the cell.
CREATE TABLE customer_cells (
    site    TEXT   NOT NULL,
    day     BIGINT NOT NULL,
    cell    BIGINT NOT NULL,
    held    BIGINT NOT NULL,
    batches BIGINT NOT NULL,
    PRIMARY KEY (site, day, cell, held)
);
