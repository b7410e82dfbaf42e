-- API responses take part in schema drift too: their ledger rows keep the metric paths their items carry.

COMMENT ON COLUMN ops_file_ledger.source_columns IS 'what schema drift compares: the export''s own column headers (CSV exports), or the dotted paths of the counts its items carry and of the objects holding them, with a trailing dot (API responses); null for other formats';
