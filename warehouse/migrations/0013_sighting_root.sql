-- Each sighting records the folder its file name is relative to, so a later load can tell whether a
-- file is still where it was seen: the context of a file is chosen among the sightings that still lie
-- where they were seen (a moved file's old place no longer counts), whatever order they arrived in.

ALTER TABLE ops_file_sighting ADD COLUMN root_path VARCHAR;
COMMENT ON COLUMN ops_file_sighting.root_path IS 'the absolute folder file_name is relative to; null for sightings recorded before it was kept';
