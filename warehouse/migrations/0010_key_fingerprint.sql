-- The fingerprint of the pseudonymisation key the warehouse's pseudonyms were made with: a load under
-- another key would give every known author a second pseudonym, so it is refused instead.

CREATE TABLE ops_key_fingerprint (
    fingerprint        VARCHAR NOT NULL,
    recorded_at        TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops_key_fingerprint IS 'One row: the fingerprint of the pseudonymisation key in use since the first load.';
COMMENT ON COLUMN ops_key_fingerprint.fingerprint IS 'HMAC-SHA256 of a fixed label under the key, first 16 hex digits: tells keys apart, reveals nothing of them';
COMMENT ON COLUMN ops_key_fingerprint.recorded_at IS 'when the first load under this key recorded it';
