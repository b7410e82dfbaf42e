-- The classifier version now also names the trained comment models and scikit-learn.

COMMENT ON COLUMN ops_comment_classification.classifier_version IS 'lexicon versions and digest, digest of the trained comment models, lingua, Polars and scikit-learn versions, digest of the classifier code; rows of any other version are deleted at the next build';
