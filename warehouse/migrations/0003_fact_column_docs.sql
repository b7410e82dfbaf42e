-- Superseded by the table catalogue (cityimage/tables.yaml), which now creates and documents the
-- dimension, fact and KPI tables. Kept, empty, so warehouses that applied it keep the record.
SELECT 1;
