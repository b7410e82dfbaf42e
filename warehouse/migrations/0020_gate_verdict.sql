-- A check's verdict is a function of the tables it reads and of its definition. Recording both with
-- the verdict lets a gate keep it while neither changed, instead of scanning a year of rows again
-- (expectations.verdicts).

CREATE TABLE ops_gate_verdict (
    suite                VARCHAR NOT NULL,
    check_id             VARCHAR NOT NULL,
    definition_sha256    VARCHAR NOT NULL,
    bound                VARCHAR,
    tables_sha256        VARCHAR NOT NULL,
    success              BOOLEAN NOT NULL,
    observed_json        VARCHAR,
    unexpected_count     BIGINT,
    examples_json        VARCHAR NOT NULL,
    run_id               VARCHAR NOT NULL,
    judged_at            TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (suite, check_id)
);
COMMENT ON TABLE ops_gate_verdict IS 'One row per check whose last verdict Great Expectations computed: that verdict and what it was computed on; a gate keeps it while both are unchanged (a check judged otherwise since has no row).';
COMMENT ON COLUMN ops_gate_verdict.definition_sha256 IS 'digest of the check (kind, columns, parameters, severity, example columns) and of the code and engines that judge it (expectations.verdicts.basis)';
COMMENT ON COLUMN ops_gate_verdict.bound IS 'for a check whose bound moves with the validation instant (not in the future), the bound it was judged at; a pass is kept at any later bound, a failure never';
COMMENT ON COLUMN ops_gate_verdict.tables_sha256 IS 'digest of the content of every table the check reads: columns, row count and the sum of the rows'' hashes (expectations.verdicts.fingerprint)';
COMMENT ON COLUMN ops_gate_verdict.run_id IS 'the gate run that computed the verdict; later runs that keep it name it in ops_validation_result';
