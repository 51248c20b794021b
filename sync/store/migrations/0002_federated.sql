-- Presage sync store, version 2: federated learning (sync/fed). One text for SQLite and PostgreSQL,
-- as 0001.

-- The devices' model updates (wire.ModelUpdate), checked and clipped per batch by the server before
-- they are stored, summed per site x bundle version x day x model x share, in the transaction that
-- counts their batch (a retried batch adds nothing). held is 1 for the held-back share (one batch
-- in five, chosen by a hash of the batch id: store.HeldBack), which retraining reads only to check
-- a step, and 0 for the rest. grad is the sum vector, bias first, as little-endian float64 (8 bytes
-- a coordinate): float32 sums of thousands of updates would lose the low bits the noise does not
-- drown. batches counts the batches that contributed (the k-anonymity threshold reads it) and
-- visitors the sum of their Count (visitor-days; the noisy count of sync/fed is drawn from it).
CREATE TABLE fed_updates (
    site     TEXT   NOT NULL,
    bundle   BIGINT NOT NULL,
    day      BIGINT NOT NULL,
    model    TEXT   NOT NULL,
    held     BIGINT NOT NULL,
    batches  BIGINT NOT NULL,
    visitors BIGINT NOT NULL,
    grad     BYTEA  NOT NULL,
    PRIMARY KEY (site, bundle, day, model, held)
);

-- The privacy ledger (zCDP, sync/fed): per site and day of the updates, the rounds charged to that
-- day and the rho they spent. A round is charged before its noise is drawn, and refused when the
-- day would pass its budget.
CREATE TABLE fed_ledger (
    site   TEXT             NOT NULL,
    day    BIGINT           NOT NULL,
    rounds BIGINT           NOT NULL,
    rho    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (site, day)
);
