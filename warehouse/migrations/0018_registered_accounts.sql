-- The registered accounts as the warehouse last accepted them. A profile that changes one (its role,
-- city or id) or leaves one out would re-label every week of history at the next fact build: the
-- stages refuse it until `cityimage accept-profile` records the profile as it is now.

CREATE TABLE ops_registered_account (
    account_key        VARCHAR NOT NULL,
    platform           VARCHAR NOT NULL,
    account_id         VARCHAR,
    role               VARCHAR NOT NULL,
    city               VARCHAR,
    recorded_at        TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops_registered_account IS 'One row per account the city profile registers, as last accepted: recorded by the first stage that wrote, extended by accounts a profile adds, replaced only by cityimage accept-profile.';
COMMENT ON COLUMN ops_registered_account.account_key IS 'platform:handle as matched (cityimage.profile.Account.key), e.g. facebook:ichongqing';
COMMENT ON COLUMN ops_registered_account.account_id IS 'the platform''s account id as the profile gave it; null for an account registered by handle';
COMMENT ON COLUMN ops_registered_account.role IS 'owned, benchmark or media, as the profile gave it';
COMMENT ON COLUMN ops_registered_account.city IS 'the city the account speaks for, as the profile gave it';
COMMENT ON COLUMN ops_registered_account.recorded_at IS 'when this row was recorded';
