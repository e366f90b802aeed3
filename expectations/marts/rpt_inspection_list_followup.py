"""marts.rpt_inspection_list_followup: what became of each month's inspection list, per street."""

import great_expectations as gx
import great_expectations.expectations as gxe

from citysafety.streets import UNKNOWN_STREET, street_codes

TABLE = "marts.rpt_inspection_list_followup"
STREETS = [*street_codes(), UNKNOWN_STREET, "ALL"]
# Each count is a part of the listed units; the district row (ALL) is the sum of its streets.
QUERY = """
with streets as (
    select list_month, sum(listed_units) as listed_units, sum(inspected_units) as inspected_units,
           sum(inspections) as inspections, sum(findings) as findings,
           sum(units_with_findings) as units_with_findings, sum(units_penalised) as units_penalised
    from marts.rpt_inspection_list_followup
    where street_code != 'ALL'
    group by list_month
)
select f.*,
       f.inspected_units <= f.listed_units and f.units_with_findings <= f.inspected_units
       and f.units_penalised <= f.inspected_units and f.inspected_units <= f.inspections as counts_consistent,
       f.street_code != 'ALL'
       or (s.listed_units, s.inspected_units, s.inspections, s.findings, s.units_with_findings, s.units_penalised)
          = (f.listed_units, f.inspected_units, f.inspections, f.findings, f.units_with_findings,
             f.units_penalised) as district_adds_up
from marts.rpt_inspection_list_followup as f
left join streets as s on f.list_month = s.list_month
"""


def suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=TABLE, expectations=[
        gxe.ExpectColumnValuesToBeUnique(column="followup_id"),
        gxe.ExpectColumnValuesToBeInSet(column="street_code", value_set=STREETS),
        gxe.ExpectColumnValuesToMatchRegex(column="list_month", regex=r"^\d{4}-\d{2}$"),
        gxe.ExpectColumnValuesToBeBetween(column="inspected_share", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeInSet(column="counts_consistent", value_set=[True]),
        gxe.ExpectColumnValuesToBeInSet(column="district_adds_up", value_set=[True]),
    ])
