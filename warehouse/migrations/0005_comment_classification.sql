-- Classification outcomes kept between runs, so each weekly fact build classifies only the comment
-- texts it has not seen before instead of the whole history again.

CREATE TABLE ops_comment_classification (
    input_sha256         VARCHAR NOT NULL,
    classifier_version   VARCHAR NOT NULL,
    language             VARCHAR NOT NULL,
    is_spam              BOOLEAN NOT NULL,
    is_question          BOOLEAN NOT NULL,
    is_praise            BOOLEAN NOT NULL,
    is_travel_intent     BOOLEAN NOT NULL,
    is_complaint         BOOLEAN NOT NULL,
    sentiment            VARCHAR NOT NULL,
    sentiment_score      DOUBLE,
    classification_rules VARCHAR[] NOT NULL,
    classified_at        TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops_comment_classification IS 'One row per distinct comment input (text and platform language tag) and classifier version: the outcome of classifying it, reused by later fact builds. Unique on (input_sha256, classifier_version), kept so by the build rather than by an index, which would hold millions of keys in memory.';
COMMENT ON COLUMN ops_comment_classification.input_sha256 IS 'SHA-256 of the JSON list [language_raw, text] of the merged comment: everything of the comment the classifier reads';
COMMENT ON COLUMN ops_comment_classification.classifier_version IS 'lexicon versions and digest, lingua and Polars versions, digest of the classifier code; rows of any other version are deleted at the next build';
COMMENT ON COLUMN ops_comment_classification.language IS 'ISO 639-1 language of the text, or und (as fct_comment.language)';
COMMENT ON COLUMN ops_comment_classification.is_spam IS 'spam: then no other act is set and sentiment is not_rated';
COMMENT ON COLUMN ops_comment_classification.is_question IS 'asks a question';
COMMENT ON COLUMN ops_comment_classification.is_praise IS 'praises';
COMMENT ON COLUMN ops_comment_classification.is_travel_intent IS 'says the author wants or plans to visit';
COMMENT ON COLUMN ops_comment_classification.is_complaint IS 'complains';
COMMENT ON COLUMN ops_comment_classification.sentiment IS 'positive, neutral, negative or not_rated';
COMMENT ON COLUMN ops_comment_classification.sentiment_score IS 'VADER compound score -1..1; null when not rated';
COMMENT ON COLUMN ops_comment_classification.classification_rules IS 'the lexicon rules that fired, as in fct_comment';
COMMENT ON COLUMN ops_comment_classification.classified_at IS 'when the build that classified this input ran';
