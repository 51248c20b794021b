package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Config selects and tunes a backend. The zero Config is not valid: set Dir or PostgresURL.
type Config struct {
	// Dir is the data folder of the embedded SQLite store; it is created if missing and holds
	// presage.db (and its -wal and -shm files while open).
	Dir string
	// PostgresURL selects PostgreSQL instead, e.g. "postgres://user:pass@host:5432/presage".
	PostgresURL string
	// MaxConns bounds the connections to the database. Default: 4 for SQLite (one writer at a
	// time whatever the number; the others read), 8 for PostgreSQL.
	MaxConns int
}

// FileName is the SQLite database's name in Config.Dir.
const FileName = "presage.db"

// Open opens (creating if needed) the store Config selects and migrates its schema to this
// binary's version. A database migrated by a newer binary is refused.
func Open(ctx context.Context, cfg Config) (Store, error) {
	switch {
	case cfg.PostgresURL != "" && cfg.Dir != "":
		return nil, errors.New("store: set a data folder or a PostgreSQL URL, not both")
	case cfg.PostgresURL != "":
		return openPostgres(ctx, cfg)
	case cfg.Dir != "":
		return openSQLite(ctx, cfg)
	}
	return nil, errors.New("store: no backend: set a data folder or a PostgreSQL URL")
}

// sqlitePragmas make every connection durable and cooperative:
//   - journal_mode(WAL): readers never block the writer, and a commit appends to one file;
//   - synchronous(FULL): a commit fsyncs the WAL, so that a transaction that returned survives a
//     power cut, not only a crash of the process (NORMAL would not) — acknowledged means durable;
//   - busy_timeout: a second writer (an admin call during ingest, another process) waits for the
//     lock instead of failing;
//   - cache_size(-32768): 32 MiB of page cache (the default is 2 MiB), so that the pages of the
//     batch-id index that random ids touch are read from memory, not with a system call each;
//   - wal_autocheckpoint(0): the WAL is copied back into the database by a background goroutine
//     (checkpointEvery), not inline by whichever commit crosses 1,000 pages, so that no
//     acknowledgement waits for a checkpoint and its fsync of the database file;
//   - _txlock=immediate: transactions take the write lock when they begin, so that one that reads
//     and then writes never fails half-way because another writer came in between.
const sqlitePragmas = "_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=cache_size(-32768)&_pragma=wal_autocheckpoint(0)&_txlock=immediate"

// checkpointEvery is how often the WAL is checkpointed (PASSIVE: never blocks writers). At the
// ingest rates measured it keeps the WAL within a few megabytes.
const checkpointEvery = 250 * time.Millisecond

func openSQLite(ctx context.Context, cfg Config) (Store, error) {
	if strings.ContainsAny(cfg.Dir, "?#") {
		return nil, fmt.Errorf("store: data folder %q: '?' and '#' are not allowed in the path", cfg.Dir)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: data folder: %w", err)
	}
	sqldb, err := sql.Open("sqlite", filepath.Join(cfg.Dir, FileName)+"?"+sqlitePragmas)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	n := cfg.MaxConns
	if n <= 0 {
		n = 4
	}
	sqldb.SetMaxOpenConns(n)
	sqldb.SetMaxIdleConns(n)
	sqldb.SetConnMaxIdleTime(0)
	d := dialect{name: "sqlite", retryable: sqliteRetryable}
	if err := migrate(ctx, sqldb, d); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("%w (data folder %s)", err, cfg.Dir)
	}
	s := &db{sql: sqldb, d: d, stopBg: make(chan struct{}), bgDone: make(chan struct{})}
	go s.checkpointLoop()
	return s, nil
}

// checkpointLoop copies the WAL back into the database file until Close, then truncates it.
func (s *db) checkpointLoop() {
	defer close(s.bgDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stopBg:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			s.sql.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
			cancel()
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			s.sql.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)") // a failure is retried at the next tick
			cancel()
		}
	}
}

func sqliteRetryable(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

// migrationLockID is the advisory lock key of migrations: any constant unique to Presage.
const migrationLockID = 0x70726573616765 // "presage"

func openPostgres(ctx context.Context, cfg Config) (Store, error) {
	pc, err := pgx.ParseConfig(cfg.PostgresURL)
	if err != nil {
		// pgx's message may quote the URL, password included: say only what is wrong.
		return nil, errors.New("store: PostgreSQL URL does not parse; want postgres://user:password@host:port/database")
	}
	sqldb := stdlib.OpenDB(*pc)
	n := cfg.MaxConns
	if n <= 0 {
		n = 8
	}
	sqldb.SetMaxOpenConns(n)
	sqldb.SetMaxIdleConns(n)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := sqldb.PingContext(pctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL at %s:%d: %w", pc.Host, pc.Port, err)
	}
	d := dialect{name: "postgres", bulk: true, retryable: postgresRetryable,
		migrationLock: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLockID)}
	if err := migrate(ctx, sqldb, d); err != nil {
		sqldb.Close()
		return nil, err
	}
	return &db{sql: sqldb, d: d}, nil
}

func postgresRetryable(err error) bool {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		switch e.SQLState() {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return true
		}
	}
	return false
}
