-- Each sighting of a file records the delivery its folders name (drop date, registered account), so a
-- week's completeness counts a file delivered again unchanged, not only the first copy loaded.

ALTER TABLE ops_file_sighting ADD COLUMN delivered_on DATE;
ALTER TABLE ops_file_sighting ADD COLUMN platform VARCHAR;
ALTER TABLE ops_file_sighting ADD COLUMN account_handle VARCHAR;
COMMENT ON COLUMN ops_file_sighting.delivered_on IS 'the drop date of the file''s folders (inbox/<date>/...); null when no folder names a date';
COMMENT ON COLUMN ops_file_sighting.platform IS 'the platform the file''s folders name; null when none does';
COMMENT ON COLUMN ops_file_sighting.account_handle IS 'the account the file''s folders name (the registered handle when it is registered); null when none does';
