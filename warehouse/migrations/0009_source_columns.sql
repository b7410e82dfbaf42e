-- The column headers of each loaded export, so a file whose columns differ from the previous export of
-- the same format (a platform renamed, added or dropped a column) is named in a schema-drift warning.

ALTER TABLE ops_file_ledger ADD COLUMN source_columns VARCHAR[];
COMMENT ON COLUMN ops_file_ledger.source_columns IS 'the export''s own column headers as read (CSV exports); null for other formats';
