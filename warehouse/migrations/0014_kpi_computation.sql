-- A week's KPIs are a function of the facts and of what decides the formulas (their code, the
-- catalogue, the register of metric definitions, the classifiers' measured quality, the zone and the
-- search keywords). Recording both lets a run with nothing new keep the week's rows instead of
-- recomputing them from a year of facts.

CREATE TABLE ops_kpi_computation (
    week_id              VARCHAR NOT NULL,
    build_id             VARCHAR,
    fingerprint          VARCHAR NOT NULL,
    computed_at          TIMESTAMPTZ NOT NULL,
    kpi_rows             BIGINT NOT NULL
);
COMMENT ON TABLE ops_kpi_computation IS 'One row per week: the computation its kpi_weekly rows came from, replaced when the week is computed again.';
COMMENT ON COLUMN ops_kpi_computation.build_id IS 'the last fact build (ops_fact_build) the KPIs read; null when no build had changed the facts yet';
COMMENT ON COLUMN ops_kpi_computation.fingerprint IS 'digest of what decides the KPIs besides the facts (transforms.kpis.definition_digest); the same build and fingerprint give the same rows';
