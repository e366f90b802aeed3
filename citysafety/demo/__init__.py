"""Seeded demo deliveries: `python -m citysafety.demo [--home DIR] [--seed N] [--end YYYY-MM-DD]`.

See citysafety.demo.generate for what is written and which delivery defects appear where.
"""
