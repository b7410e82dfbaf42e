-- Operations: the file ledger, loads, runs, quarantine and validation results.

CREATE TABLE ops_load (
    load_id            VARCHAR PRIMARY KEY,
    started_at         TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ,
    files_seen         INTEGER,
    files_loaded       INTEGER,
    files_already      INTEGER,
    files_refused      INTEGER,
    status             VARCHAR NOT NULL
);
COMMENT ON TABLE ops_load IS 'One row per ingestion of an inbox or of files named on the command line.';

CREATE TABLE ops_file_ledger (
    file_sha256        VARCHAR PRIMARY KEY,
    file_name          VARCHAR NOT NULL,
    file_bytes         BIGINT NOT NULL,
    detected_format    VARCHAR,
    platform           VARCHAR,
    status             VARCHAR NOT NULL,
    rows_read          BIGINT,
    rows_loaded        BIGINT,
    rows_quarantined   BIGINT,
    rows_skipped       BIGINT,
    rows_duplicate     BIGINT,
    exported_at        TIMESTAMPTZ,
    load_id            VARCHAR NOT NULL,
    first_seen_at      TIMESTAMPTZ NOT NULL,
    loaded_at          TIMESTAMPTZ,
    message            VARCHAR
);
COMMENT ON TABLE ops_file_ledger IS 'One row per distinct file content (SHA-256): loaded, or refused with the reason. rows_read = rows_loaded + rows_quarantined + rows_skipped + rows_duplicate.';
COMMENT ON COLUMN ops_file_ledger.status IS 'loaded (rows are in staging) or refused (nothing from it is loaded; retried on the next run)';
COMMENT ON COLUMN ops_file_ledger.rows_skipped IS 'rows recognised and set aside with a reason: Total rows, phantom rows';
COMMENT ON COLUMN ops_file_ledger.rows_duplicate IS 'rows repeating a natural key already seen in the same file';

CREATE TABLE ops_file_sighting (
    file_sha256        VARCHAR NOT NULL,
    file_name          VARCHAR NOT NULL,
    load_id            VARCHAR NOT NULL,
    seen_at            TIMESTAMPTZ NOT NULL,
    outcome            VARCHAR NOT NULL
);
COMMENT ON TABLE ops_file_sighting IS 'One row per file name seen per load, so the same content under two names is visible.';

CREATE TABLE stg_quarantine (
    load_id            VARCHAR NOT NULL,
    source_file_sha256 VARCHAR NOT NULL,
    file_name          VARCHAR NOT NULL,
    source_format      VARCHAR,
    source_row         BIGINT,
    entity             VARCHAR,
    column_name        VARCHAR,
    value              VARCHAR,
    reason             VARCHAR NOT NULL,
    raw                VARCHAR,
    stage              VARCHAR NOT NULL
);
COMMENT ON TABLE stg_quarantine IS 'One row per row set aside: by a reader (bad value) or a row-level quality rule (stage = validation), with file, row, column, value and reason.';

CREATE TABLE ops_run (
    run_id             VARCHAR PRIMARY KEY,
    week_id            VARCHAR NOT NULL,
    flow_run_id        VARCHAR,
    started_at         TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ,
    status             VARCHAR NOT NULL,
    message            VARCHAR
);
COMMENT ON TABLE ops_run IS 'One row per weekly pipeline run of a week.';

CREATE TABLE ops_validation_result (
    run_id             VARCHAR NOT NULL,
    week_id            VARCHAR NOT NULL,
    suite              VARCHAR NOT NULL,
    table_name         VARCHAR NOT NULL,
    expectation        VARCHAR NOT NULL,
    severity           VARCHAR NOT NULL,
    success            BOOLEAN NOT NULL,
    observed_value     VARCHAR,
    unexpected_count   BIGINT,
    examples           VARCHAR,
    message            VARCHAR
);
COMMENT ON TABLE ops_validation_result IS 'One row per expectation evaluated per run.';
