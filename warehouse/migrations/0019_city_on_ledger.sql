-- The city on the record of what came in: every ledger and quarantine row names the city whose
-- warehouse holds it, as the catalogue's tables do (their city_key column). Rows from before take the
-- city the warehouse holds; a warehouse that records none yet gets it from the first stage that writes.

ALTER TABLE ops_file_ledger ADD COLUMN city_key VARCHAR;
UPDATE ops_file_ledger SET city_key = (SELECT city_key FROM ops_city);
COMMENT ON COLUMN ops_file_ledger.city_key IS 'the city whose warehouse holds the file''s rows (ops_city.city_key), set on every write';

ALTER TABLE stg_quarantine ADD COLUMN city_key VARCHAR;
UPDATE stg_quarantine SET city_key = (SELECT city_key FROM ops_city);
COMMENT ON COLUMN stg_quarantine.city_key IS 'the city whose warehouse holds the row (ops_city.city_key), set on every write';
