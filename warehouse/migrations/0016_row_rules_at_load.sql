-- Row-level rules moved from the quality gates to the load: the gates only read, and no committed state
-- holds a rule-breaking row in staging. Rows they set aside from now on carry stage = 'row_rule'.

COMMENT ON TABLE stg_quarantine IS 'One row per row set aside at load: by a reader (a bad value) or a row-level rule, with file, row, column, value, reason and the whole row.';
COMMENT ON COLUMN stg_quarantine.stage IS 'read (a reader rejected a value) or row_rule (a row-level rule, warehouse/row_rules.py); validation in rows the quality gates set aside before the rules moved to the load';
