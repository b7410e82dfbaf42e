-- A warehouse holds one city's data. The city is recorded by the first stage that writes under a
-- profile; a stage run with another city's profile is refused instead of mixing the two (the roles of
-- the accounts, and so every owned and benchmark figure, come from the profile).

CREATE TABLE ops_city (
    city_key           VARCHAR NOT NULL,
    city               VARCHAR NOT NULL,
    recorded_at        TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops_city IS 'One row: the city this warehouse holds, recorded by the first stage that wrote under a city profile.';
COMMENT ON COLUMN ops_city.city_key IS 'the profile''s city key (cityimage.profile.CityProfile.key), e.g. chongqing';
