-- Presage sync store, version 4: second moments of the revenue per exposure, for intervals and
-- p-values on revenue (sync/stats RatioMean). A device's batch is the unit: for each batch's
-- total revenue y and exposures n in a cell, the cell sums y², n² and y·n; moments counts the
-- batches summed so. Cells written before this version have moments < batches, and their revenue
-- gets no interval. One text for SQLite and PostgreSQL, as 0001.
ALTER TABLE cells ADD COLUMN revenue_sq DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE cells ADD COLUMN exposures_sq DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE cells ADD COLUMN revenue_exposures DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE cells ADD COLUMN moments BIGINT NOT NULL DEFAULT 0;
