-- Dimensions, facts and KPIs. Rebuilt from staging by pure Polars transforms on every run, replaced
-- inside one transaction so readers never see half a build.

CREATE TABLE dim_account (
    account_key        VARCHAR PRIMARY KEY,
    platform           VARCHAR NOT NULL,
    account_id         VARCHAR,
    account_handle     VARCHAR,
    role               VARCHAR NOT NULL,
    city               VARCHAR,
    is_registered      BOOLEAN NOT NULL
);
COMMENT ON TABLE dim_account IS 'One row per account seen or registered. account_key = platform:handle (lower case) for registered accounts, platform:pseudonym for the public.';

CREATE TABLE fct_post (
    platform           VARCHAR NOT NULL,
    post_id            VARCHAR NOT NULL,
    account_key        VARCHAR NOT NULL,
    role               VARCHAR NOT NULL,
    published_at       TIMESTAMPTZ,
    published_week     VARCHAR,
    format             VARCHAR,
    language           VARCHAR,
    themes             VARCHAR[],
    labels             VARCHAR[],
    places             VARCHAR[],
    lynch_elements     VARCHAR[],
    is_city_mention    BOOLEAN,
    asset_key          VARCHAR,
    title              VARCHAR,
    text               VARCHAR,
    post_url           VARCHAR,
    duration_s         DOUBLE,
    impressions        BIGINT,
    reach              BIGINT,
    views              BIGINT,
    likes              BIGINT,
    comments           BIGINT,
    shares             BIGINT,
    quotes             BIGINT,
    saves              BIGINT,
    engagements        BIGINT,
    avg_pct_viewed     DOUBLE,
    avg_watch_time_s   DOUBLE,
    is_live            BOOLEAN,
    latest_exported_at TIMESTAMPTZ,
    snapshots          INTEGER,
    classification_rules VARCHAR[]
);
COMMENT ON TABLE fct_post IS 'One row per post, with the metrics of its latest export and its classification. engagements (E) follows the catalogue per platform; null when a component is missing.';

CREATE TABLE fct_post_metric_snapshot (
    platform           VARCHAR NOT NULL,
    post_id            VARCHAR NOT NULL,
    account_key        VARCHAR NOT NULL,
    exported_at        TIMESTAMPTZ NOT NULL,
    age_days           DOUBLE,
    impressions        BIGINT,
    reach              BIGINT,
    views              BIGINT,
    likes              BIGINT,
    comments           BIGINT,
    shares             BIGINT,
    quotes             BIGINT,
    saves              BIGINT,
    engagements        BIGINT,
    source_file_sha256 VARCHAR NOT NULL
);
COMMENT ON TABLE fct_post_metric_snapshot IS 'One row per post per export instant: the history of restated metrics, for growth between exports and metrics at a fixed age.';

CREATE TABLE fct_comment (
    platform           VARCHAR NOT NULL,
    comment_id         VARCHAR NOT NULL,
    post_id            VARCHAR,
    parent_comment_id  VARCHAR,
    post_account_key   VARCHAR,
    author_key         VARCHAR,
    is_by_post_account BOOLEAN NOT NULL,
    is_top_level       BOOLEAN NOT NULL,
    created_at         TIMESTAMPTZ,
    created_week       VARCHAR,
    text               VARCHAR,
    language           VARCHAR,
    sentiment          VARCHAR,
    sentiment_score    DOUBLE,
    is_spam            BOOLEAN,
    is_question        BOOLEAN,
    is_praise          BOOLEAN,
    is_travel_intent   BOOLEAN,
    is_complaint       BOOLEAN,
    is_hidden          BOOLEAN,
    first_reply_at     TIMESTAMPTZ,
    first_reply_hours  DOUBLE,
    is_replied_7d      BOOLEAN,
    classification_rules VARCHAR[]
);
COMMENT ON TABLE fct_comment IS 'One row per comment or reply (latest export), author pseudonymised, classified, with the post account''s first reply and its delay.';

CREATE TABLE fct_mention (
    platform           VARCHAR NOT NULL,
    post_id            VARCHAR NOT NULL,
    account_key        VARCHAR NOT NULL,
    published_at       TIMESTAMPTZ,
    published_week     VARCHAR,
    language           VARCHAR,
    labels             VARCHAR[],
    places             VARCHAR[],
    lynch_elements     VARCHAR[],
    sentiment          VARCHAR,
    is_spam            BOOLEAN,
    text               VARCHAR
);
COMMENT ON TABLE fct_mention IS 'One row per post by a public account that mentions the city (name, alias, hashtag or a gazetteer place).';

CREATE TABLE fct_livestream (
    platform           VARCHAR NOT NULL,
    post_id            VARCHAR NOT NULL,
    account_key        VARCHAR NOT NULL,
    started_at         TIMESTAMPTZ,
    ended_at           TIMESTAMPTZ,
    week_id            VARCHAR,
    duration_s         DOUBLE,
    views              BIGINT,
    peak_concurrent_viewers BIGINT,
    avg_concurrent_viewers  BIGINT,
    avg_watch_time_s   DOUBLE,
    likes              BIGINT,
    comments           BIGINT
);
COMMENT ON TABLE fct_livestream IS 'One row per livestream, figures from the latest export that has them.';

CREATE TABLE fct_follower_day (
    account_key        VARCHAR NOT NULL,
    platform           VARCHAR NOT NULL,
    day                DATE NOT NULL,
    followers          BIGINT,
    followers_gained   BIGINT,
    followers_lost     BIGINT,
    views              BIGINT
);
COMMENT ON TABLE fct_follower_day IS 'One row per account per day, from the latest export covering the day.';

CREATE TABLE fct_audience_country (
    account_key        VARCHAR NOT NULL,
    platform           VARCHAR NOT NULL,
    post_id            VARCHAR,
    country            VARCHAR NOT NULL,
    window_start       DATE NOT NULL,
    window_end         DATE NOT NULL,
    views              BIGINT,
    share              DOUBLE
);
COMMENT ON TABLE fct_audience_country IS 'One row per account (or video), country and window, from the latest export of that window.';

CREATE TABLE fct_search_query (
    property           VARCHAR,
    dimension          VARCHAR NOT NULL,
    value              VARCHAR NOT NULL,
    window_start       DATE NOT NULL,
    window_end         DATE NOT NULL,
    clicks             BIGINT,
    impressions        BIGINT,
    ctr                DOUBLE,
    position           DOUBLE
);
COMMENT ON TABLE fct_search_query IS 'One row per search dimension value (query, page, country, device) and window, latest export.';

CREATE TABLE kpi_weekly (
    week_id            VARCHAR NOT NULL,
    kpi_id             VARCHAR NOT NULL,
    kpi_name           VARCHAR NOT NULL,
    scope              VARCHAR NOT NULL,
    platform           VARCHAR,
    account_key        VARCHAR,
    role               VARCHAR,
    dimension          VARCHAR,
    value              DOUBLE,
    numerator          DOUBLE,
    denominator        DOUBLE,
    n                  BIGINT,
    unit               VARCHAR NOT NULL,
    status             VARCHAR NOT NULL,
    note               VARCHAR
);
COMMENT ON TABLE kpi_weekly IS 'One row per week, KPI, scope (account or role), platform and dimension value. status = ok, flagged (young cohort) or absent (note says why; value null).';
