-- Files on disk already settled, by path, size and modification time: a weekly run skips them unread.

CREATE TABLE ops_file_stat (
    file_path          VARCHAR PRIMARY KEY,
    file_bytes         BIGINT NOT NULL,
    modified_ns        BIGINT NOT NULL,
    file_sha256        VARCHAR NOT NULL,
    is_archive         BOOLEAN NOT NULL,
    is_settled         BOOLEAN NOT NULL,
    load_id            VARCHAR NOT NULL,
    recorded_at        TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops_file_stat IS 'One row per file path read by a load (the latest): its size, modification time and content hash, so an unchanged settled file is not read again.';
COMMENT ON COLUMN ops_file_stat.file_path IS 'absolute path of the file as found on disk (an archive, not its members)';
COMMENT ON COLUMN ops_file_stat.modified_ns IS 'modification time in nanoseconds since the epoch, as the file system reported it';
COMMENT ON COLUMN ops_file_stat.is_settled IS 'true when everything in the file is loaded (an archive: every member); a refused file stays unsettled and is read again';
