-- C1, C5 and D3 count classified comments: each carries the range its value could take if the
-- classifiers were as wrong as their measured precision and recall allow (transforms/kpis/error.py).

ALTER TABLE kpi_weekly ADD COLUMN value_low DOUBLE;
ALTER TABLE kpi_weekly ADD COLUMN value_high DOUBLE;
COMMENT ON COLUMN kpi_weekly.value_low IS 'C1, C5, D3: lowest value consistent with the classifiers'' measured precision and recall (95 % intervals) for the week''s mix of languages; null for other KPIs or when no model is measured';
COMMENT ON COLUMN kpi_weekly.value_high IS 'C1, C5, D3: highest value consistent with the classifiers'' measured precision and recall; null for other KPIs or when no model is measured';
