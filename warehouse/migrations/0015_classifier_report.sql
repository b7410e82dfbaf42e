-- The classifiers' figures on the project's own holdout rows depend only on the classifiers and those
-- rows, both shipped with the code: measured once per version instead of at every publication.

CREATE TABLE ops_classifier_report (
    report_key           VARCHAR NOT NULL,
    report_json          VARCHAR NOT NULL,
    measured_at          TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE ops_classifier_report IS 'One row per classifier version and holdout set: the precision and recall each snapshot''s manifest publishes, reused by every later publication.';
COMMENT ON COLUMN ops_classifier_report.report_key IS 'the classifier version (transforms.classify.classifier_version), the city terms and a digest of the evaluation rows and code (transforms.evaluate.report_key)';
