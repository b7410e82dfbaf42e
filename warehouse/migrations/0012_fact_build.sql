-- The fact build is incremental: it records which loads the facts already include and what decided
-- them, and keeps each post's classification like each comment's, so a run rebuilds only what its new
-- loads touched and classifies only texts it has not seen.

CREATE TABLE ops_fact_build (
    build_id             VARCHAR NOT NULL,
    fingerprint          VARCHAR NOT NULL,
    mode                 VARCHAR NOT NULL,
    reason               VARCHAR,
    started_at           TIMESTAMPTZ NOT NULL,
    finished_at          TIMESTAMPTZ NOT NULL,
    loads                BIGINT,
    posts                BIGINT,
    comments             BIGINT
);
COMMENT ON TABLE ops_fact_build IS 'One row per fact build that changed the facts: full or incremental, why, and how many loads, posts and comments it rebuilt.';
COMMENT ON COLUMN ops_fact_build.fingerprint IS 'digest of what decides the facts besides staging (fact models code, registered accounts, reporting zone, classifier versions); another fingerprint than the last build''s makes the next build full';
COMMENT ON COLUMN ops_fact_build.mode IS 'full (every key rebuilt) or incremental (the keys its new loads touched, and what depends on them)';

CREATE TABLE ops_fact_load (
    load_id              VARCHAR NOT NULL,
    build_id             VARCHAR NOT NULL
);
COMMENT ON TABLE ops_fact_load IS 'One row per load whose staged rows the facts include, with the build that took them in.';

CREATE TABLE ops_post_classification (
    input_sha256         VARCHAR NOT NULL,
    classifier_version   VARCHAR NOT NULL,
    language             VARCHAR NOT NULL,
    themes               VARCHAR[] NOT NULL,
    labels               VARCHAR[] NOT NULL,
    places               VARCHAR[] NOT NULL,
    lynch_elements       VARCHAR[] NOT NULL,
    is_city_mention      BOOLEAN NOT NULL,
    classification_rules VARCHAR[] NOT NULL,
    classified_at        TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops_post_classification IS 'One row per distinct post input (title, text and platform language tag) and classifier version: its themes, labels, places, Lynch elements and city mention, reused by later fact builds.';
COMMENT ON COLUMN ops_post_classification.input_sha256 IS 'SHA-256 of the JSON list [title, text, language_raw] of the merged post';
COMMENT ON COLUMN ops_post_classification.classifier_version IS 'the lexicons, models and code of the classifier, and a digest of the city profile''s terms; rows of any other version are deleted at the next build';
