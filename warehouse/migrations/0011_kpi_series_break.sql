-- A KPI whose inputs straddle a platform's change of metric definition (readers/metric_definitions.yaml)
-- names the change on its row, so a series break is visible in the warehouse and the snapshot, not only
-- in the report.

ALTER TABLE kpi_weekly ADD COLUMN series_break VARCHAR;
COMMENT ON COLUMN kpi_weekly.series_break IS 'the metric definition changes (the register''s definition ids, comma-separated) that fall within the days this figure reads (the week, widened by the catalogue''s input_days); null when none';
